using Microsoft.EntityFrameworkCore.Infrastructure;
using Worker.Contracts;
using Worker.Persistence;

namespace Worker.Requests;

/// <summary>
/// Parking a request whose chain failed for good, for ops replay (DeadLetters:ParkReasons). Defined here, where the
/// outcome is decided and written; DeadLetters implements it (<c>ChainParking</c>) and stays the one writer of dead_letters.
/// </summary>
public interface IParking
{
    /// <summary>Whether a chain failure with this reason is parked rather than failed.</summary>
    bool ShouldPark(string failureReason);

    /// <summary>The dead letter of a <c>parked</c> outcome row.</summary>
    DeadLetterRow Row(CompletionRequested request, RequestRow row);

    /// <summary>Writes <paramref name="parked"/> in the transaction that stores the request's <c>parked</c> outcome.</summary>
    Task ParkAsync(DatabaseFacade database, DeadLetterRow parked, CancellationToken cancellationToken);
}
