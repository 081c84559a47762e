using Microsoft.Extensions.Options;
using Npgsql;
using Worker.Audit;
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
    private readonly GroupCommit<RequestRow, bool> _claims;
    private readonly GroupCommit<OutcomeBatch.Item, bool> _outcomes;

    public RequestWrites(NpgsqlDataSource database, IOptions<AuditOptions> audit, IOptions<ClaimLeaseOptions> leases, ILogger<RequestWrites> logger)
    {
        var settings = new GroupCommitSettings(audit.Value.BatchSize, audit.Value.BatchWriters);
        var lease = leases.Value.ClaimLease;
        _claims = new GroupCommit<RequestRow, bool>("claims", (rows, ct) => ClaimBatch.WriteAsync(database, lease, rows, ct), settings, logger);
        _outcomes = new GroupCommit<OutcomeBatch.Item, bool>("outcomes", (items, ct) => OutcomeBatch.WriteAsync(database, items, ct),
            settings, logger);
    }

    /// <summary>
    /// Inserts the claim of a request that has no row yet (<paramref name="row"/> carries its token). False when the
    /// request already had a row, or the batch failed: the caller then claims it on its own.
    /// </summary>
    public Task<bool> TryClaimNewAsync(RequestRow row) => _claims.WriteAsync(row);

    /// <summary>
    /// Writes an outcome (not parked) with its attempts while <paramref name="claimToken"/> still holds the request. False
    /// when the claim is gone or the batch failed: the caller then writes it on its own, attempts included.
    /// </summary>
    public Task<bool> TryCompleteAsync(RequestRow row, Guid claimToken) => _outcomes.WriteAsync(new OutcomeBatch.Item(row, claimToken));

    public async ValueTask DisposeAsync()
    {
        await _claims.DisposeAsync();
        await _outcomes.DisposeAsync();
    }
}
