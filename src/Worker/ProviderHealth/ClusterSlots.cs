using Microsoft.Extensions.Options;
using Npgsql;

namespace Worker.ProviderHealth;

/// <summary>
/// Once-per-cluster runs without a lock: time is cut into slots of one interval, and for each slot the first instance
/// whose INSERT lands runs the job; the others' inserts conflict and they skip it. Nothing is held while the job runs,
/// so an instance dying mid-ping costs one slot's ping, never a stuck lock.
/// </summary>
public sealed class ClusterSlots(NpgsqlDataSource database, IOptions<ProviderHealthOptions> options, TimeProvider time)
{
    // The slot is counted on the database's clock: the scheduled time is moved by the difference between the database's
    // now() and this instance's clock at the claim, so instances whose clocks disagree (even by many intervals) still
    // compete for the same slot. Half a second of slack absorbs the jitter of that measurement at a slot boundary.
    private const string Claim = """
        INSERT INTO provider_health_slots (job, slot, claimed_by, claimed_at)
        VALUES (@job, floor((@scheduled_ms + (extract(epoch FROM now()) * 1000 - @local_ms) + 500) / @interval_ms)::bigint, @by, now())
        ON CONFLICT (job, slot) DO NOTHING
        RETURNING slot
        """;

    /// <summary>The job name of one provider and model's pings.</summary>
    public static string PingJob(string provider, string model) => $"ping:{provider}/{model}";

    public const string AlertsJob = "alerts";

    /// <summary>floor(epoch / interval): the slot a run scheduled at <paramref name="at"/> belongs to.</summary>
    public static long SlotOf(DateTimeOffset at, TimeSpan interval) =>
        (long)Math.Floor(at.ToUnixTimeMilliseconds() / interval.TotalMilliseconds);

    /// <summary>
    /// The first slot boundary at or after <paramref name="now"/>. Every instance's trigger starts there, so all fire
    /// together at each boundary and compete for the same slot, whenever each of them started.
    /// </summary>
    public static DateTimeOffset NextBoundary(DateTimeOffset now, TimeSpan interval)
    {
        var slot = SlotOf(now, interval);
        var start = DateTimeOffset.FromUnixTimeMilliseconds((long)(slot * interval.TotalMilliseconds));
        return start == now ? start : DateTimeOffset.FromUnixTimeMilliseconds((long)((slot + 1) * interval.TotalMilliseconds));
    }

    /// <summary>
    /// Claims the slot a run scheduled at <paramref name="scheduledAt"/> (this instance's clock) belongs to, counted on the
    /// database's clock. Returns the slot when this instance won it and should run the job, null when another instance has it.
    /// </summary>
    public async Task<long?> TryClaimAsync(string job, DateTimeOffset scheduledAt, TimeSpan interval, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(Claim);
        command.Parameters.Add(new NpgsqlParameter<string>("job", job));
        command.Parameters.Add(new NpgsqlParameter<double>("scheduled_ms", scheduledAt.ToUnixTimeMilliseconds()));
        command.Parameters.Add(new NpgsqlParameter<double>("local_ms", time.GetUtcNow().ToUnixTimeMilliseconds()));
        command.Parameters.Add(new NpgsqlParameter<double>("interval_ms", interval.TotalMilliseconds));
        command.Parameters.Add(new NpgsqlParameter<string>("by", options.Value.InstanceName));
        return await command.ExecuteScalarAsync(cancellationToken) is long slot ? slot : null;
    }
}
