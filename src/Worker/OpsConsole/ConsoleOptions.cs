namespace Worker.OpsConsole;

/// <summary>
/// The <c>Console</c> section: the KPI targets the ops console and <c>GET /status</c> judge the figures against. Each
/// target has an amber bound on its worse side: at or better than the target is green, up to the amber bound amber,
/// beyond it red. Defaults are the old system's targets (99.9 % availability, fallback under 5 %, MTTR under 30 s).
/// </summary>
public sealed class ConsoleOptions
{
    public const string Section = "Console";

    public ConsoleTargets Targets { get; set; } = new();
}

/// <summary>The targets (env <c>Console__Targets__Availability</c> and so on).</summary>
public sealed class ConsoleTargets
{
    /// <summary>Share of finished requests answered without being parked, 0..1; green at or above.</summary>
    public double Availability { get; set; } = 0.999;

    /// <summary>Amber down to this share, red below; at most <see cref="Availability"/>.</summary>
    public double AvailabilityAmber { get; set; } = 0.99;

    /// <summary>Share of answered requests answered by a later step, 0..1; green at or below.</summary>
    public double FallbackRate { get; set; } = 0.05;

    /// <summary>Amber up to this share, red above; at least <see cref="FallbackRate"/>.</summary>
    public double FallbackRateAmber { get; set; } = 0.10;

    /// <summary>Mean time to recovery of a breaker, seconds; green at or below.</summary>
    public double MttrSeconds { get; set; } = 30;

    /// <summary>Amber up to this many seconds, red above.</summary>
    public double MttrAmberSeconds { get; set; } = 60;

    /// <summary>p95 from received to completed of answered requests, seconds; green at or below.</summary>
    public double P95Seconds { get; set; } = 10;

    /// <summary>Amber up to this many seconds, red above.</summary>
    public double P95AmberSeconds { get; set; } = 20;

    /// <summary>USD spent over the window; empty (the default): no target, the tile is not judged.</summary>
    public decimal? CostUsd { get; set; }

    /// <summary>Amber up to this many USD, red above; needs <see cref="CostUsd"/>, empty: the same as it.</summary>
    public decimal? CostAmberUsd { get; set; }
}
