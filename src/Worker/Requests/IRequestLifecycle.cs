using Worker.Chain;
using Worker.Contracts;

namespace Worker.Requests;

/// <summary>
/// What the consumer asks of a request's durable state, in the order it asks. <see cref="RequestLifecycle"/> keeps it in
/// PostgreSQL; the consumer's unit tests keep it in memory.
/// </summary>
public interface IRequestLifecycle
{
    /// <summary>Claims the request for this delivery, or says why it must not run here (finished, another payload, running elsewhere).</summary>
    Task<RequestClaim> ClaimAsync(CompletionRequested request, CancellationToken cancellationToken);

    /// <summary>Renews the leases of the claims this instance holds; returns how many were renewed.</summary>
    Task<int> RenewLeasesAsync(IReadOnlyCollection<(Guid RequestId, Guid Token)> claims, CancellationToken cancellationToken);

    /// <summary>Gives a claim up without an outcome, so a redelivery runs at once. Best effort.</summary>
    Task ReleaseAsync(Guid requestId, Guid token);

    /// <summary>Commits the outcome with its attempts; returns what to publish (this result, or one stored first).</summary>
    Task<RequestResult> CompleteAsync(CompletionRequested request, RequestClaim claim, ChainOutcome outcome, DateTimeOffset completedAt,
        RequestResult result, CancellationToken cancellationToken);

    /// <summary>Stores a deferred run to resume later; false when the claim was lost meanwhile.</summary>
    Task<bool> DeferAsync(CompletionRequested request, RequestClaim claim, ChainOutcome outcome, CancellationToken cancellationToken);

    /// <summary>Records a refused request; returns what to publish and whether it is the request's result or a refusal of this delivery.</summary>
    Task<(RequestResult Result, bool IsRequestResult)> RejectAsync(CompletionRequested request, string problem, DateTimeOffset receivedAt,
        DateTimeOffset completedAt, CompletionFailed result, CancellationToken cancellationToken);
}
