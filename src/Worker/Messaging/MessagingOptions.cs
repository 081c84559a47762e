using System.ComponentModel.DataAnnotations;

namespace Worker.Messaging;

/// <summary>The <c>Messaging</c> section: how the worker consumes <c>CompletionRequested</c>.</summary>
public sealed class MessagingOptions
{
    public const string Section = "Messaging";

    /// <summary>The durable queue the worker consumes requests from (bound to the CompletionRequested exchange).</summary>
    [Required]
    public string QueueName { get; set; } = "completion-requests";

    /// <summary>Requests processed at once by one worker. LLM calls are slow and I/O-bound, so this can be high.</summary>
    [Range(1, 10_000)]
    public int ConcurrencyLimit { get; set; } = 64;

    /// <summary>
    /// Messages the broker hands over ahead of processing. Keep it close to <see cref="ConcurrencyLimit"/>: the broker's
    /// consumer-ack timeout counts from delivery into this buffer, not from the start of processing.
    /// </summary>
    [Range(1, 10_000)]
    public int PrefetchCount { get; set; } = 64;

    /// <summary>At shutdown, in-flight requests get this long to finish; then they are cancelled and requeued.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long a delivery's claim on a request holds without renewal. While a chain runs the claim is renewed every
    /// <see cref="ClaimRenewInterval"/>; an instance that dies stops renewing, and its requests may run again once the
    /// lease has lapsed. A duplicate delivery waits (durably) for the lease rather than calling a provider.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:02", "01:00:00")]
    public TimeSpan ClaimLease { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// When the bus has been disconnected this long while the broker accepts connections, the bus is restarted (a
    /// MassTransit 8.4 race can leave it retrying a dead connection after a broker restart). 0 turns the watchdog off.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan BusRecoveryAfter { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How often the claims of running requests are renewed; well below <see cref="ClaimLease"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "00:30:00")]
    public TimeSpan ClaimRenewInterval { get; set; } = TimeSpan.FromSeconds(15);
}

/// <summary>The <c>Requests</c> section: what the worker accepts. Anything larger fails with <c>invalid_request</c>.</summary>
public sealed class RequestLimits
{
    public const string Section = "Requests";

    /// <summary>Longest <c>conversationId</c>, echoed back on every result; the audit column keeps the first 256.</summary>
    [Range(1, 4_096)]
    public int MaxConversationIdChars { get; set; } = 256;

    /// <summary>Most messages in one request.</summary>
    [Range(1, 100_000)]
    public int MaxMessages { get; set; } = 500;

    /// <summary>Most characters across all message contents (a rough guard before any provider's token limit).</summary>
    [Range(1, 100_000_000)]
    public int MaxPromptChars { get; set; } = 500_000;

    /// <summary>Largest <c>maxOutputTokens</c> accepted.</summary>
    [Range(1, 10_000_000)]
    public int MaxOutputTokens { get; set; } = 65_536;

    /// <summary>Most metadata entries, echoed back on every result.</summary>
    [Range(0, 10_000)]
    public int MaxMetadataEntries { get; set; } = 32;

    /// <summary>Most characters across metadata keys and values.</summary>
    [Range(0, 1_000_000)]
    public int MaxMetadataChars { get; set; } = 8_192;
}
