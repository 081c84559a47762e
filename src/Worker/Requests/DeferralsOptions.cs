using System.ComponentModel.DataAnnotations;

namespace Worker.Requests;

/// <summary>The <c>Deferrals</c> section: how deferred requests are brought back (the waits themselves are the Chain section's).</summary>
public sealed class DeferralsOptions
{
    public const string Section = "Deferrals";

    /// <summary>How often due deferred requests are looked for and re-published, on every instance (rows are shared with SKIP LOCKED).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A released request whose message no delivery has claimed after this long is sent again (env
    /// Deferrals__ResendUnclaimedAfter). Longer than the request queue's usual backlog wait; a second copy is harmless.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00")]
    public TimeSpan ResendUnclaimedAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Rows re-published per transaction; a full batch is followed by the next one at once.</summary>
    [Range(1, 10_000)]
    public int BatchSize { get; set; } = 200;
}
