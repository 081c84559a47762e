using System.ComponentModel.DataAnnotations;

namespace Worker.Retention;

/// <summary>The <c>Retention</c> section: how long finished requests stay in the audit trail.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>Days a succeeded or failed request (with its attempts) is kept after it completed. 0 keeps everything.</summary>
    [Range(0, 36_500)]
    public int Days { get; set; } = 30;

    /// <summary>When the sweep runs: a Quartz cron expression, seconds first. Default: hourly, on the hour.</summary>
    [Required]
    public string Schedule { get; set; } = "0 0 * * * ?";

    /// <summary>Requests deleted per statement. Each batch is its own short transaction, so no lock is held for long.</summary>
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 5_000;
}
