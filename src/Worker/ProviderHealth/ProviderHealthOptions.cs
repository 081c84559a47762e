using System.ComponentModel.DataAnnotations;

namespace Worker.ProviderHealth;

/// <summary>The <c>ProviderHealth</c> section: circuit breakers, pings and health states.</summary>
public sealed class ProviderHealthOptions
{
    public const string Section = "ProviderHealth";

    /// <summary>Breakers open when this share of calls fails within <see cref="SamplingDuration"/>...</summary>
    [Range(0.01, 1.0)]
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>...provided at least this many calls were made in it, so one unlucky call never opens a breaker.</summary>
    [Range(2, 10_000)]
    public int MinimumThroughput { get; set; } = 4;

    /// <summary>The window the failure ratio is measured over.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long an opened breaker stays open before one live request may try (half-open). A successful ping closes it sooner.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Consecutive failed pings that hold a breaker open until a ping succeeds.</summary>
    [Range(1, 100)]
    public int PingFailuresToIsolate { get; set; } = 2;
}

/// <summary>One entry of the <c>Pacing</c> section, e.g. <c>Pacing__gemini__RequestsPerMinute=15</c>.</summary>
public sealed class PacingOptions
{
    /// <summary>Calls allowed per rolling minute; 0 means no limit.</summary>
    [Range(0, 1_000_000)]
    public int RequestsPerMinute { get; set; }

    /// <summary>Estimated tokens (prompt characters / 4 plus the output budget) per rolling minute; 0 means no limit.</summary>
    [Range(0, 100_000_000)]
    public int TokensPerMinute { get; set; }

    /// <summary>
    /// When the budget is spent, wait for it if it frees up within this long; otherwise move to the next step at once.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan MaxWait { get; set; } = TimeSpan.Zero;
}

/// <summary>The <c>Pacing</c> section: provider name (case-insensitive) to its limits.</summary>
public sealed class PacingSection : Dictionary<string, PacingOptions>
{
    public const string Section = "Pacing";

    public PacingSection() : base(StringComparer.OrdinalIgnoreCase)
    {
    }
}
