namespace Worker.ProviderHealth;

/// <summary>
/// How many worker instances are alive, as this instance last counted them in <c>worker_instances</c>
/// (<see cref="InstanceHeartbeat"/>), and each one's share of a cluster-wide per-minute limit. Starts at 1, so an
/// instance that has not counted yet, or runs without the heartbeat, paces as if alone.
/// </summary>
public sealed class LiveInstances
{
    private int _count = 1;

    /// <summary>Instances seen within ProviderHealth:InstanceTimeout, this one included; at least 1.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>A new count; kept as it is when the count could not be taken (a database outage).</summary>
    public void Counted(int count) => Volatile.Write(ref _count, Math.Max(1, count));

    /// <summary>
    /// This instance's share of <paramref name="perMinute"/>: rounded down, so N instances together stay within the
    /// limit, but at least 1, so a limit smaller than the cluster still lets each instance call. 0 (no limit) stays 0.
    /// </summary>
    public int Share(int perMinute) => Share(perMinute, Count);

    /// <inheritdoc cref="Share(int)"/>
    public static int Share(int perMinute, int instances) => perMinute <= 0 ? 0 : Math.Max(1, perMinute / Math.Max(1, instances));
}
