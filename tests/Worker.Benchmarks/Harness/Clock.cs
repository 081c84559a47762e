using System.Diagnostics;

namespace Worker.Benchmarks.Harness;

/// <summary>
/// The benchmark's one clock: monotonic seconds since the tool started. Publish and result times are both taken on it,
/// in this process, so a latency never mixes clocks.
/// </summary>
public static class Clock
{
    private static readonly long Start = Stopwatch.GetTimestamp();
    private static readonly DateTimeOffset StartWall = DateTimeOffset.UtcNow;

    public static double Now => Stopwatch.GetElapsedTime(Start).TotalSeconds;

    /// <summary>A wall-clock instant (e.g. the simulator's outage end) on this clock; same machine, so same wall clock.</summary>
    public static double FromWall(DateTimeOffset instant) => (instant - StartWall).TotalSeconds;
}
