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
    private const string Claim = """
        INSERT INTO provider_health_slots (job, slot, claimed_by, claimed_at) VALUES (@job, @slot, @by, @at)
        ON CONFLICT (job, slot) DO NOTHING
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

    /// <summary>True when this instance won <paramref name="slot"/> of <paramref name="job"/> and should run it.</summary>
    public async Task<bool> TryClaimAsync(string job, long slot, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand(Claim);
        command.Parameters.Add(new NpgsqlParameter<string>("job", job));
        command.Parameters.Add(new NpgsqlParameter<long>("slot", slot));
        command.Parameters.Add(new NpgsqlParameter<string>("by", options.Value.InstanceName));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset>("at", time.GetUtcNow().ToUniversalTime()));
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }
}
