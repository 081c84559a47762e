using Microsoft.Extensions.Options;
using Npgsql;
using Worker.Persistence;
using Worker.Providers;

namespace Worker.ProviderHealth;

/// <summary>
/// Brings the cluster's pings into this instance's breakers: each ping is applied exactly once, whether this instance
/// made it (applied at once) or another did (read by <see cref="SyncAsync"/> every SyncInterval).
/// </summary>
/// <remarks>
/// The watermark is the newest <c>pinged_at</c> seen, so clocks of other instances do not matter. A ping row is
/// written when its call ends, up to PingTimeout after its <c>pinged_at</c>; each read therefore goes back
/// <see cref="Overlap"/> further, and ids already applied are skipped.
/// </remarks>
public sealed class PingSync(NpgsqlDataSource database, CircuitBreakers breakers, IOptions<ProviderHealthOptions> options, TimeProvider time, ILogger<PingSync> logger)
{
    private const string Read = """
        SELECT id, provider, model, pinged_at, outcome, error_class FROM provider_pings
        WHERE pinged_at > @since ORDER BY pinged_at, id
        """;

    private static readonly Dictionary<string, ErrorClass> ErrorClasses = Enum.GetValues<ErrorClass>().ToDictionary(c => c.ToWireName());

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<long, DateTimeOffset> _applied = [];
    private readonly Dictionary<(string Provider, string Model), DateTimeOffset> _newest = [];

    // Pings older than this instance are not replayed: its breakers start closed and learn from the next ping.
    private DateTimeOffset _watermark = time.GetUtcNow();

    private TimeSpan Overlap => options.Value.PingTimeout + TimeSpan.FromSeconds(30);

    /// <summary>Reads pings newer than the watermark and applies those not applied yet. Returns how many were applied.</summary>
    public async Task<int> SyncAsync(CancellationToken cancellationToken)
    {
        var since = _watermark - Overlap;
        var rows = new List<PingRow>();
        await using (var command = database.CreateCommand(Read))
        {
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("since", since.ToUniversalTime()));
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(new PingRow
                {
                    Id = reader.GetInt64(0),
                    Provider = reader.GetString(1),
                    Model = reader.GetString(2),
                    PingedAt = reader.GetFieldValue<DateTimeOffset>(3),
                    Outcome = reader.GetString(4),
                    ErrorClass = reader.IsDBNull(5) ? null : reader.GetString(5),
                });
            }
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            var applied = 0;
            foreach (var row in rows)
            {
                applied += await ApplyLockedAsync(row) ? 1 : 0;
                if (row.PingedAt > _watermark)
                    _watermark = row.PingedAt;
            }

            foreach (var id in _applied.Where(a => a.Value <= since).Select(a => a.Key).ToList())
                _applied.Remove(id);
            if (applied > 0)
                Log.PingsSynced(logger, applied);
            return applied;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Applies one ping to the breakers unless it was applied already.</summary>
    public async Task ApplyAsync(PingRow ping)
    {
        await _gate.WaitAsync();
        try
        {
            await ApplyLockedAsync(ping);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<bool> ApplyLockedAsync(PingRow ping)
    {
        if (!_applied.TryAdd(ping.Id, ping.PingedAt))
            return false;

        // A ping that took long can land after a newer one of the same pair; the newer one is the truth.
        var pair = (ping.Provider, ping.Model);
        if (_newest.TryGetValue(pair, out var newest) && ping.PingedAt < newest)
            return false;
        _newest[pair] = ping.PingedAt;

        switch (ping.Outcome)
        {
            case PingOutcome.Up:
                await breakers.PingSucceededAsync(ping.Provider, ping.Model);
                break;
            case PingOutcome.Down:
                var errorClass = ping.ErrorClass is { } name && ErrorClasses.TryGetValue(name, out var c) ? c : ErrorClass.Server;
                await breakers.PingFailedAsync(ping.Provider, ping.Model, errorClass);
                break;
        }

        return true;
    }
}
