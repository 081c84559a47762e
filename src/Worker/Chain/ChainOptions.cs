using System.ComponentModel.DataAnnotations;
using Worker.Providers;

namespace Worker.Chain;

/// <summary>
/// The <c>Chains</c> section: chain name to ordered steps, e.g. <c>Chains__default__0__Provider=gemini</c>.
/// A request names its chain; null means <see cref="DefaultChain"/>.
/// </summary>
public sealed class ChainsOptions : Dictionary<string, List<ChainStepOptions>>
{
    public const string Section = "Chains";

    /// <summary>The chain used when a request names none.</summary>
    public const string DefaultChain = "default";

    public ChainsOptions() : base(StringComparer.OrdinalIgnoreCase)
    {
    }
}

/// <summary>One step of a chain: a provider and model, and how hard to try it before falling back.</summary>
public sealed class ChainStepOptions
{
    /// <summary>A name from the <c>Providers</c> section.</summary>
    [Required]
    public string Provider { get; set; } = "";

    /// <summary>The model asked on that provider, e.g. gemini-2.5-pro or o3-mini.</summary>
    [Required]
    public string Model { get; set; } = "";

    /// <summary>
    /// Calls after the first one on this step for every retried class together, as before per-class policies. Setting it,
    /// <see cref="BaseDelay"/>, <see cref="MaxDelay"/> or <see cref="JitterRatio"/> gives the step one step-wide policy
    /// (doubling delays) and the <c>Retry</c> sections do not apply to it; what is left empty takes its old default
    /// (2 retries, 5 s, 30 s, 0.2). Setting none of them lets the per-class policies apply.
    /// </summary>
    [Range(0, 10)]
    public int? MaxRetries { get; set; }

    /// <summary>First step-wide backoff delay, at most <see cref="MaxDelay"/>; doubles per retry, with jitter of plus or minus <see cref="JitterRatio"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan? BaseDelay { get; set; }

    /// <summary>Cap on one step-wide backoff delay: at most 1 h (a wait above Chain:InProcessWaitLimit is deferred).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan? MaxDelay { get; set; }

    /// <summary>Random spread applied to each step-wide backoff delay so retries from many requests do not align.</summary>
    [Range(0.0, 1.0)]
    public double? JitterRatio { get; set; }

    /// <summary>What a step-wide setting left empty defaults to: the values every step had before per-class policies.</summary>
    public static readonly RetryPolicy StepWideDefaults = new(2, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30), Factor: 2, 0.2);

    /// <summary>
    /// Per error class (wire name), retry settings of this step over its chain's (<c>ChainPolicies</c>) and the
    /// <c>Retry</c> section's. Not with the step-wide settings above, which already cover every class.
    /// </summary>
    public Dictionary<string, RetryPolicyOptions> Retry { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Longest Retry-After (or Gemini retryDelay) honoured by waiting on this step, at most 1 h; a longer one falls back
    /// at once. 120 s by default: a per-minute quota's "try again in a minute" is worth waiting for, and a wait above
    /// Chain:InProcessWaitLimit is deferred durably, not held in the consumer.
    /// </summary>
    /// <remarks>
    /// <see cref="Worker.ProviderHealth.RateBudgets.SpentQuotaRetryAfter"/> (30 s) stays below it on purpose: a Retry-After between the two still closes
    /// the provider's budget for every other request until then, while the request that got it waits for it on this step
    /// (deferred). Raising that threshold to 120 s too would send everyone else into 429s for up to two minutes; a
    /// Retry-After up to 30 s is a burst, which the in-flight limit paces.
    /// </remarks>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>Per-call timeout on this step, at most 30 min like the provider's; empty means the provider's <c>Timeout</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:30:00")]
    public TimeSpan? Timeout { get; set; }

    /// <summary>
    /// The least time before the request's deadline this step needs to answer; with less left the step is not started
    /// (<c>skipped: deadline</c>). At most 10 min.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan MinTimeToAnswer { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The step-wide policy when the step sets any of MaxRetries, BaseDelay, MaxDelay or JitterRatio (the rest from
    /// <see cref="StepWideDefaults"/>), else null: the per-class policies apply.
    /// </summary>
    public RetryPolicy? StepWide() =>
        MaxRetries is null && BaseDelay is null && MaxDelay is null && JitterRatio is null
            ? null
            : new(MaxRetries ?? StepWideDefaults.MaxRetries, BaseDelay ?? StepWideDefaults.BaseDelay, MaxDelay ?? StepWideDefaults.MaxDelay,
                StepWideDefaults.Factor, JitterRatio ?? StepWideDefaults.JitterRatio);
}

/// <summary>A validated step with everything the runner needs resolved.</summary>
/// <remarks>
/// <see cref="MaxRetries"/>, <see cref="BaseDelay"/>, <see cref="MaxDelay"/> and <see cref="JitterRatio"/> are the
/// step-wide policy (doubling, every retried class counted together) of a step built without <see cref="Retries"/>;
/// the catalog sets <see cref="Retries"/> for steps that take the per-class policies.
/// </remarks>
public sealed record ChainStep(
    int Index,
    string Provider,
    string Model,
    int MaxRetries,
    TimeSpan BaseDelay,
    TimeSpan MaxDelay,
    double JitterRatio,
    TimeSpan MaxRetryAfter,
    TimeSpan Timeout)
{
    /// <summary>Less time than this before the deadline and the step is skipped (<see cref="ChainStepOptions.MinTimeToAnswer"/>).</summary>
    public TimeSpan MinTimeToAnswer { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The retry policy of each error class, each class's retries counted on their own; null: the step-wide policy for
    /// every class, its retries counted together.
    /// </summary>
    public IReadOnlyDictionary<ErrorClass, RetryPolicy>? Retries { get; init; }

    /// <summary>What this step's chain does with each error class; a class left out follows <see cref="ErrorPolicy"/>.</summary>
    public IReadOnlyDictionary<ErrorClass, FailureAction> Actions { get; init; } = new Dictionary<ErrorClass, FailureAction>();

    public RetryPolicy PolicyFor(ErrorClass errorClass) =>
        Retries is not null && Retries.TryGetValue(errorClass, out var policy)
            ? policy
            : new RetryPolicy(MaxRetries, BaseDelay, MaxDelay, Factor: 2, JitterRatio);

    public FailureAction ActionFor(ErrorClass errorClass) =>
        Actions.TryGetValue(errorClass, out var action) ? action : ErrorPolicy.ActionFor(errorClass);
}

/// <summary>
/// The <c>Chain</c> section: how long the chain may wait inside a consumer, and how long a request may be deferred
/// durably when it would wait longer (a long Retry-After, a spent pacing budget, every step's breaker open).
/// </summary>
public sealed class ChainRunOptions
{
    public const string Section = "Chain";

    /// <summary>
    /// Waits up to this long happen in the consumer (the message stays unacknowledged); longer ones are deferred: the
    /// request is stored with its chain position and re-published when the wait is over. At most 10 min.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan InProcessWaitLimit { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The longest a request may spend deferred, counted from its first deferral; past it the chain behaves as if it
    /// could not wait (falls back, or fails and parks). At most 1 day; 0 turns deferral off: every wait happens in the
    /// consumer.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00")]
    public TimeSpan MaxDeferral { get; set; } = TimeSpan.FromMinutes(10);

    public bool DeferralEnabled => MaxDeferral > TimeSpan.Zero;
}
