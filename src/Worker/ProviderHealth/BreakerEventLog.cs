using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Npgsql;
using Worker.Audit;
using Worker.Persistence;

namespace Worker.ProviderHealth;

/// <summary>
/// Breaker transitions on their way to <c>breaker_events</c>. A breaker opens inside a live request's call, so the
/// transition is only queued there; <see cref="BreakerEventWriter"/> writes it. The queue is bounded: during a long
/// PostgreSQL outage the oldest transitions are dropped, which costs at most a missed flapping alert.
/// </summary>
public sealed class BreakerEventLog(IOptions<ProviderHealthOptions> options, TimeProvider time)
{
    private readonly Channel<BreakerEventRow> _queue = Channel.CreateBounded<BreakerEventRow>(
        new BoundedChannelOptions(10_000) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });

    internal ChannelReader<BreakerEventRow> Reader => _queue.Reader;

    public void Record(string provider, string model, string transition) =>
        _queue.Writer.TryWrite(new BreakerEventRow
        {
            Provider = AuditText.Clean(provider, 128)!,
            Model = AuditText.Clean(model, 128)!,
            Transition = transition,
            At = time.GetUtcNow(),
            Instance = options.Value.InstanceName,
        });
}

/// <summary>Writes queued breaker transitions, a batch at a time.</summary>
internal sealed class BreakerEventWriter(BreakerEventLog log, NpgsqlDataSource database, ILogger<BreakerEventWriter> logger) : BackgroundService
{
    private const string Insert = """
        INSERT INTO breaker_events (provider, model, transition, at, instance)
        SELECT * FROM unnest(@providers, @models, @transitions, @ats, @instances)
        """;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await log.Reader.WaitToReadAsync(stoppingToken))
            {
                var batch = new List<BreakerEventRow>();
                while (batch.Count < 500 && log.Reader.TryRead(out var row))
                    batch.Add(row);
                await WriteAsync(batch, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    internal async Task WriteAsync(IReadOnlyList<BreakerEventRow> batch, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = database.CreateCommand(Insert);
            command.Parameters.Add(new NpgsqlParameter<string[]>("providers", [.. batch.Select(r => r.Provider)]));
            command.Parameters.Add(new NpgsqlParameter<string[]>("models", [.. batch.Select(r => r.Model)]));
            command.Parameters.Add(new NpgsqlParameter<string[]>("transitions", [.. batch.Select(r => r.Transition)]));
            command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("ats", [.. batch.Select(r => r.At.ToUniversalTime())]));
            command.Parameters.Add(new NpgsqlParameter<string[]>("instances", [.. batch.Select(r => r.Instance)]));
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (NpgsqlException e)
        {
            Log.BreakerEventsLost(logger, e, batch.Count);
        }
    }
}
