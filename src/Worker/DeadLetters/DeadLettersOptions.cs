using System.ComponentModel.DataAnnotations;
using Worker.Contracts;

namespace Worker.DeadLetters;

/// <summary>The <c>DeadLetters</c> section: what is parked, how fast it is replayed, how long resolved items are kept.</summary>
public sealed class DeadLettersOptions
{
    public const string Section = "DeadLetters";

    /// <summary>The failure reasons that can be parked by a chain.</summary>
    public static readonly IReadOnlyList<string> ParkableReasons =
        [FailureReasons.ProvidersExhausted, FailureReasons.ContentBlocked, FailureReasons.DeadlineExceeded, FailureReasons.InvalidRequest];

    /// <summary>
    /// Comma-separated failure reasons that park a request instead of failing it (env DeadLetters__ParkReasons), default
    /// <c>providers_exhausted</c>; empty parks nothing. Requests refused by validation are never parked.
    /// </summary>
    public string ParkReasons { get; set; } = FailureReasons.ProvidersExhausted;

    /// <summary>Requests a replay sends per second, across the whole operation, so a provider that just recovered is not flooded.</summary>
    [Range(0.01, 10_000)]
    public double ReplayPerSecond { get; set; } = 5;

    /// <summary>Days an archived or replayed dead letter is kept after it was resolved; 0 keeps them. Parked items never expire.</summary>
    [Range(0, 36_500)]
    public int ArchiveRetentionDays { get; set; } = 30;

    /// <summary>When the archive retention runs: a Quartz cron expression, seconds first. Default: hourly at half past.</summary>
    [Required]
    public string RetentionSchedule { get; set; } = "0 30 * * * ?";

    /// <summary>Replay a chain's parked requests by itself once the chain's first step is healthy again. Off by default.</summary>
    public bool AutoReplay { get; set; }

    /// <summary>How often automatic replay looks for healthy chains with parked requests.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan AutoReplayInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Automatic replay leaves a request alone once it has been replayed this often: ops decide then.</summary>
    [Range(1, 1_000)]
    public int AutoReplayMaxReplays { get; set; } = 3;

    /// <summary>Read the request queue's <c>_error</c> queue into the dead-letter store.</summary>
    public bool IngestErrorQueue { get; set; } = true;

    /// <summary>
    /// Largest <c>_error</c> body read and stored whole (default 8 MiB, well above the largest request Requests:* accepts).
    /// A bigger one is stored as <c>unreadable</c> with its first 64 KiB.
    /// </summary>
    [Range(ErrorQueueMessage.UnreadableBodyBytes, 256 * 1024 * 1024)]
    public int MaxErrorBodyBytes { get; set; } = ErrorQueueMessage.DefaultMaxBodyBytes;

    /// <summary>How often the replay runner looks for operations created elsewhere (another instance, or before a restart).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:10:00")]
    public TimeSpan OperationPollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The parsed <see cref="ParkReasons"/>.</summary>
    public IReadOnlySet<string> ParkReasonSet() =>
        ParkReasons.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal);
}
