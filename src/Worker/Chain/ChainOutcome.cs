using Worker.Contracts;
using Worker.Providers;

namespace Worker.Chain;

/// <summary>The decision taken after one step of the chain: what the audit trail records per row.</summary>
public enum Decision
{
    /// <summary>The call succeeded; the chain ends here.</summary>
    Answered,

    /// <summary>The same step is called again after <see cref="AttemptRecord.Wait"/>.</summary>
    Retried,

    /// <summary>The chain moves to its next step.</summary>
    FellBack,

    /// <summary>The chain ends without an answer.</summary>
    GaveUp,

    /// <summary>No call was made on this step; <see cref="AttemptRecord.Note"/> says why (deadline, unknown provider, ...).</summary>
    Skipped,

    /// <summary>The chain stops here for now and the request is stored to resume after <see cref="AttemptRecord.Wait"/>.</summary>
    Deferred,

    /// <summary>No call: the response cache answered (a fresh entry; <see cref="AttemptRecord.Note"/> gives its age).</summary>
    CacheHit,

    /// <summary>No call: no provider could answer and a last resort did (a stale cached answer or the template); the request is parked.</summary>
    Degraded,
}

public static class DecisionNames
{
    /// <summary>The stable snake_case name used in audit rows and metrics.</summary>
    public static string ToWireName(this Decision decision) => decision switch
    {
        Decision.Answered => "answered",
        Decision.Retried => "retried",
        Decision.FellBack => "fell_back",
        Decision.GaveUp => "gave_up",
        Decision.Skipped => "skipped",
        Decision.Deferred => "deferred",
        Decision.CacheHit => "cache_hit",
        Decision.Degraded => "degraded",
        _ => throw new ArgumentOutOfRangeException(nameof(decision), decision, null),
    };
}

/// <summary>One row of a request's timeline: a provider call, or a step skipped without one.</summary>
/// <param name="Detail">The provider's failure, as safe text.</param>
/// <param name="Note">Why the decision was taken, e.g. "2 retries spent" or "skipped: deadline".</param>
public sealed record AttemptRecord(
    int StepIndex,
    string Provider,
    string Model,
    int Attempt,
    DateTimeOffset StartedAt,
    DateTimeOffset EndedAt,
    bool CallMade,
    ErrorClass? ErrorClass,
    int? HttpStatus,
    TimeSpan? RetryAfter,
    Decision Decision,
    TimeSpan? Wait,
    int? InputTokens,
    int? OutputTokens,
    string? Detail,
    string? Note)
{
    public TimeSpan Latency => EndedAt - StartedAt;
}

/// <summary>
/// Where a run starts: the chain's beginning, or where a deferred run stopped (step, attempt on that step), with the
/// provider calls already made for the request and when its first deferral began (what Chain:MaxDeferral counts from).
/// </summary>
public sealed record ChainStart(int StepIndex, int Attempt, int PriorCalls, DateTimeOffset? DeferralStartedAt)
{
    public static readonly ChainStart Beginning = new(0, 1, 0, null);

    /// <summary>Estimated cost of the calls earlier runs made, in USD: a budget counts them too.</summary>
    public decimal PriorCostUsd { get; init; }

    /// <summary>The routing decision earlier runs followed; the run resumes in its order. Null at the beginning.</summary>
    public RouteDecision? Route { get; init; }

    public bool IsBeginning => StepIndex == 0 && Attempt == 1;
}

/// <summary>Why a run stopped to resume later.</summary>
public static class DeferralKinds
{
    /// <summary>A retry (Retry-After or backoff) longer than Chain:InProcessWaitLimit.</summary>
    public const string Retry = "retry";

    /// <summary>The provider's pacing budget frees up later than Chain:InProcessWaitLimit.</summary>
    public const string Pacing = "pacing";

    /// <summary>No step could be called (every breaker open, every budget closed): backpressure.</summary>
    public const string Unavailable = "unavailable";

    /// <summary>Another delivery of the same request holds its claim: look again when its lease ends.</summary>
    public const string InFlight = "in_flight";

    /// <summary>
    /// The request's tenant had all its places (TenantLimits) taken: look again shortly, from where the run would have
    /// started, with no call made. Like <see cref="InFlight"/>, not a wait a backend is told about.
    /// </summary>
    public const string TenantLimit = "tenant_limit";
}

/// <summary>
/// A run that stopped to resume at <see cref="ResumeAt"/>, at step <see cref="StepIndex"/>, attempt <see cref="Attempt"/>.
/// <see cref="DeferralStartedAt"/> is what Chain:MaxDeferral counts from; null for a wait that does not count (a tenant
/// limit's), so a request queued behind its own tenant's burst still has its whole deferral allowance for outages.
/// </summary>
public sealed record ChainDeferral(DateTimeOffset ResumeAt, int StepIndex, int Attempt, string Kind, string Reason, DateTimeOffset? DeferralStartedAt);

/// <summary>
/// How a chain run ended: an answer, a failure, or (when <see cref="Deferral"/> is set) neither yet. Exactly one of
/// <see cref="Answer"/>, <see cref="FailureReason"/> or <see cref="Deferral"/> is set.
/// </summary>
public sealed record ChainOutcome(
    ProviderSuccess? Answer,
    ChainStep? AnsweredBy,
    string? FailureReason,
    string? Error,
    IReadOnlyList<AttemptRecord> Attempts)
{
    public bool Succeeded => Answer is not null;

    /// <summary>Set when the run stopped to resume later: no result is published yet.</summary>
    public ChainDeferral? Deferral { get; init; }

    /// <summary>Provider calls made for this request by earlier runs (before deferrals).</summary>
    public int PriorCalls { get; init; }

    /// <summary>Provider calls actually made by this run (skipped steps do not count).</summary>
    public int CallCount => Attempts.Count(a => a.CallMade);

    /// <summary>Provider calls made for the request across its deferrals: what the result reports.</summary>
    public int TotalCalls => PriorCalls + CallCount;

    /// <summary>Estimated cost of this run's calls (answered ones; a failed call reports no tokens), in USD.</summary>
    public decimal CostUsd { get; init; }

    /// <summary>Estimated cost of the calls of earlier runs (before deferrals).</summary>
    public decimal PriorCostUsd { get; init; }

    /// <summary>What the result reports as <c>costUsd</c>.</summary>
    public decimal TotalCostUsd => PriorCostUsd + CostUsd;

    /// <summary>Where the request went and why; set by the caller that routed it.</summary>
    public RouteDecision? Route { get; init; }

    public bool FallbackUsed => AnsweredBy is { Index: > 0 };
}
