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

/// <summary>How a chain run ended. Exactly one of <see cref="Answer"/> or <see cref="FailureReason"/> is set.</summary>
public sealed record ChainOutcome(
    ProviderSuccess? Answer,
    ChainStep? AnsweredBy,
    string? FailureReason,
    string? Error,
    IReadOnlyList<AttemptRecord> Attempts)
{
    public bool Succeeded => Answer is not null;

    /// <summary>Provider calls actually made (skipped steps do not count).</summary>
    public int CallCount => Attempts.Count(a => a.CallMade);

    public bool FallbackUsed => AnsweredBy is { Index: > 0 };
}
