using Microsoft.Extensions.Options;
using Npgsql;
using Worker.Audit;
using Worker.Messaging;
using Worker.Persistence;

namespace Worker.Requests;

/// <summary>
/// The fast path of the two writes every request makes, shared by all requests in flight: claims of new requests and
/// outcomes of claimed ones go to PostgreSQL in group commits (<see cref="GroupCommit{TItem,TResult}"/>). Each request
/// still waits for its own write to commit before it calls a provider (claim) or publishes and acknowledges (outcome).
/// Whatever a batch does not write, the caller writes on its own.
/// </summary>
public sealed class RequestWrites : IAsyncDisposable
{
    private readonly GroupCommit<RequestRow, ClaimBatch.Claimed> _claims;
    private readonly GroupCommit<OutcomeBatch.Item, OutcomeBatch.Written> _outcomes;

    public RequestWrites(NpgsqlDataSource database, IOptions<AuditOptions> audit, IOptions<MessagingOptions> messaging, ILogger<RequestWrites> logger)
    {
        var settings = new GroupCommitSettings(audit.Value.BatchSize, audit.Value.BatchWriters);
        var lease = messaging.Value.ClaimLease;
        _claims = new GroupCommit<RequestRow, ClaimBatch.Claimed>("claims", (rows, ct) => ClaimBatch.WriteAsync(database, lease, rows, ct), settings, logger);
        _outcomes = new GroupCommit<OutcomeBatch.Item, OutcomeBatch.Written>("outcomes", (items, ct) => OutcomeBatch.WriteAsync(database, items, ct),
            settings, logger);
    }

    /// <summary>Batches and rows written so far by each path (the benchmark reports them).</summary>
    public (long Batches, long Rows) Claims => _claims.Written;

    /// <inheritdoc cref="Claims"/>
    public (long Batches, long Rows) Outcomes => _outcomes.Written;

    /// <summary>
    /// Inserts the claim of a request that has no row yet (<paramref name="row"/> carries its token). False when the
    /// request already had a row, or the batch failed: the caller then claims it on its own.
    /// </summary>
    public async Task<bool> TryClaimNewAsync(RequestRow row) => await _claims.WriteAsync(row) is not null;

    /// <summary>
    /// Writes an outcome (not parked) with its attempts while <paramref name="claimToken"/> still holds the request. False
    /// when the claim is gone or the batch failed: the caller then writes it on its own, attempts included.
    /// </summary>
    public async Task<bool> TryCompleteAsync(RequestRow row, Guid claimToken) =>
        await _outcomes.WriteAsync(new OutcomeBatch.Item(row, claimToken)) is not null;

    public async ValueTask DisposeAsync()
    {
        await _claims.DisposeAsync();
        await _outcomes.DisposeAsync();
    }
}
