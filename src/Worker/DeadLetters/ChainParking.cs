using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;
using Worker.Contracts;
using Worker.Persistence;
using Worker.Requests;

namespace Worker.DeadLetters;

/// <summary>
/// Parks a request whose chain failed for good (DeadLetters:ParkReasons, parsed once at start): its dead letter, written
/// in the transaction that stores the request's <c>parked</c> outcome. Requests asks for it through
/// <see cref="IParking"/>. The error-queue ingester (<see cref="ErrorQueueIngest"/>) is the other way into dead_letters;
/// both live here, so this feature is the table's one writer.
/// </summary>
public sealed class ChainParking(IOptions<DeadLettersOptions> options) : IParking
{
    // Parking again (a replay that failed the same way) reopens the request's one dead letter with the latest cause.
    private const string ParkSql = $"""
        INSERT INTO dead_letters (id, request_id, source, status, reason, error_class, provider, chain, group_key, error, message,
                                  first_parked_at, last_parked_at, park_count)
        VALUES (@id, @id, '{DeadLetterSource.Chain}', '{DeadLetterStatus.Parked}', @reason, @error_class, @provider, @chain, @group_key,
                @error, @message, @parked_at, @parked_at, 1)
        ON CONFLICT (id) DO UPDATE
        SET status = '{DeadLetterStatus.Parked}',
            reason = excluded.reason,
            error_class = excluded.error_class,
            provider = excluded.provider,
            chain = excluded.chain,
            group_key = excluded.group_key,
            error = excluded.error,
            message = excluded.message,
            last_parked_at = excluded.last_parked_at,
            park_count = dead_letters.park_count + 1,
            resolved_at = NULL,
            resolved_by = NULL
        """;

    private readonly IReadOnlySet<string> _reasons = options.Value.ParkReasonSet();

    public bool ShouldPark(string failureReason) => _reasons.Contains(failureReason);

    /// <summary>
    /// The dead letter of a <c>parked</c> outcome row: the full request (what a replay sends, whatever the prompt storage
    /// policy), and its cause: the reason, the last error class and provider, the chain.
    /// </summary>
    public DeadLetterRow Row(CompletionRequested request, RequestRow row)
    {
        var lastFailure = row.Attempts.LastOrDefault(a => a.ErrorClass is not null);
        var provider = row.Provider ?? row.Attempts.LastOrDefault()?.Provider;
        var reason = row.FailureReason ?? FailureReasons.ProvidersExhausted;
        return new DeadLetterRow
        {
            Id = row.RequestId,
            RequestId = row.RequestId,
            Source = DeadLetterSource.Chain,
            Status = DeadLetterStatus.Parked,
            Reason = reason,
            ErrorClass = lastFailure?.ErrorClass,
            Provider = provider,
            Chain = row.Chain,
            GroupKey = DeadLetterGroups.Key(reason, lastFailure?.ErrorClass, provider, row.Chain, null),
            Error = row.Error,
            Message = StoredJson.Request(request),
            FirstParkedAt = row.CompletedAt ?? row.ReceivedAt,
            LastParkedAt = row.CompletedAt ?? row.ReceivedAt,
            ParkCount = 1,
        };
    }

    /// <summary>Inserts the dead letter, or reopens the request's one dead letter with the latest cause.</summary>
    public Task ParkAsync(DatabaseFacade database, DeadLetterRow parked, CancellationToken cancellationToken) =>
        database.ExecuteSqlRawAsync(ParkSql, ParkParameters(parked), cancellationToken);

    private static NpgsqlParameter[] ParkParameters(DeadLetterRow parked) =>
    [
        Sql.Parameter("id", NpgsqlDbType.Uuid, parked.Id),
        Sql.Parameter("reason", NpgsqlDbType.Varchar, parked.Reason),
        Sql.Parameter("error_class", NpgsqlDbType.Varchar, parked.ErrorClass),
        Sql.Parameter("provider", NpgsqlDbType.Varchar, parked.Provider),
        Sql.Parameter("chain", NpgsqlDbType.Varchar, parked.Chain),
        Sql.Parameter("group_key", NpgsqlDbType.Varchar, parked.GroupKey),
        Sql.Parameter("error", NpgsqlDbType.Text, parked.Error),
        Sql.Parameter("message", NpgsqlDbType.Jsonb, parked.Message),
        Sql.Parameter("parked_at", NpgsqlDbType.TimestampTz, parked.LastParkedAt),
    ];
}
