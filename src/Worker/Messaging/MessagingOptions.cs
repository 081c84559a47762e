using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Worker.Messaging;

/// <summary>The <c>Messaging</c> section: how the worker consumes <c>CompletionRequested</c>.</summary>
public sealed class MessagingOptions
{
    public const string Section = "Messaging";

    /// <summary>The durable queue the worker consumes requests from (bound to the CompletionRequested exchange).</summary>
    [Required]
    public string QueueName { get; set; } = "completion-requests";

    /// <summary>
    /// The type of the request queue and of its <c>_error</c> and <c>_skipped</c> queues: <c>classic</c> (default) or
    /// <c>quorum</c> (replicated across a RabbitMQ cluster; no message priorities on RabbitMQ 3.x). RabbitMQ cannot change
    /// a queue's type in place: to switch, drain and delete the three queues first (docs/scaling.md).
    /// </summary>
    public string QueueType { get; set; } = RequestQueue.Classic;

    /// <summary>Whether <see cref="QueueType"/> is <c>quorum</c>.</summary>
    public bool IsQuorum => string.Equals(QueueType, RequestQueue.Quorum, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The request queue's <c>x-max-priority</c>: requests with a higher <c>priority</c> are delivered first, up to this level
    /// (0 turns priorities off: one FIFO queue). Unset: 9 for a classic queue, 0 for a quorum queue, which has no priorities
    /// on RabbitMQ 3.x (setting it above 0 with quorum is refused). RabbitMQ cannot change it on an existing queue: see
    /// docs/scaling.md, "Priorities".
    /// </summary>
    [Range(0, 9)]
    public int? MaxPriority { get; set; }

    /// <summary><see cref="MaxPriority"/> as the queue is declared: the default for the queue type when unset.</summary>
    public int EffectiveMaxPriority => MaxPriority ?? (IsQuorum ? 0 : DefaultMaxPriority);

    /// <summary>The default <see cref="MaxPriority"/> of a classic queue: every request priority its own level.</summary>
    public const int DefaultMaxPriority = 9;

    /// <summary>
    /// Requests processed at once by one worker. LLM calls are slow and I/O-bound, so this can be high (thousands): a
    /// request's claim and outcome share group commits with the others in flight, and its one-request writes wait for a
    /// pool connection in memory (<see cref="Worker.Persistence.DatabaseGate"/>), so no value exhausts the pool.
    /// </summary>
    [Range(1, 10_000)]
    public int ConcurrencyLimit { get; set; } = 64;

    /// <summary>
    /// Messages the broker hands over ahead of processing. Keep it close to <see cref="ConcurrencyLimit"/>: the broker's
    /// consumer-ack timeout counts from delivery into this buffer, not from the start of processing; and priorities order
    /// only what is still in the queue, so a high-priority request waits behind every message already prefetched.
    /// </summary>
    [Range(1, 10_000)]
    public int PrefetchCount { get; set; } = 64;

    /// <summary>
    /// At shutdown, in-flight requests get this long to finish; then they are cancelled and requeued. 1 s to 1 h. The host
    /// waits <see cref="HostShutdownTimeout"/> in all; give the process manager's grace period (docker stop -t,
    /// terminationGracePeriodSeconds, systemd TimeoutStopSec) at least that.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>The bus's stop: the consumers' <see cref="StopTimeout"/>, then time to close the endpoints and the connection.</summary>
    public TimeSpan BusStopTimeout => StopTimeout + TimeSpan.FromSeconds(10);

    /// <summary>The host's whole shutdown: the bus's stop, then the other services (Quartz jobs, claim release), 90 s by default.</summary>
    public TimeSpan HostShutdownTimeout => BusStopTimeout + TimeSpan.FromSeconds(20);
}

/// <summary>Checks the <c>Messaging</c> knobs the annotations cannot: the queue type, and priorities only on a classic queue.</summary>
public sealed class MessagingOptionsValidator : IValidateOptions<MessagingOptions>
{
    public ValidateOptionsResult Validate(string? name, MessagingOptions o)
    {
        var problems = new OptionProblems();
        problems.Check(RequestQueue.Types.Contains(o.QueueType, StringComparer.OrdinalIgnoreCase), $"{MessagingOptions.Section}:QueueType",
            $"must be {string.Join(" or ", RequestQueue.Types)}, was '{o.QueueType}'");
        problems.Check(!(o.IsQuorum && o.MaxPriority > 0), $"{MessagingOptions.Section}:MaxPriority",
            $"is {o.MaxPriority}, but {MessagingOptions.Section}:QueueType is quorum: quorum queues have no message priorities on RabbitMQ 3.x. " +
            "Choose replication (quorum, MaxPriority unset or 0: requests run in arrival order) or priorities (classic)");
        return problems.Result();
    }
}
