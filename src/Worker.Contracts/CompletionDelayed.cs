namespace Worker.Contracts;

/// <summary>
/// Progress, not a result: the request identified by <see cref="RequestId"/> waits durably and resumes around
/// <see cref="ExpectedResumeAt"/>. A backend can tell its user "still working" instead of guessing. One event per
/// deferral; its result (<see cref="CompletionSucceeded"/> or <see cref="CompletionFailed"/>) follows later. Best effort:
/// published without the mandatory flag, so a backend that binds no queue for it loses nothing it relies on.
/// </summary>
/// <param name="RequestId">The id from <see cref="CompletionRequested.RequestId"/>.</param>
/// <param name="ConversationId">Echoed from the request.</param>
/// <param name="Reason">A stable snake_case code; see <see cref="DelayReasons"/>.</param>
/// <param name="Detail">Human-readable detail (which provider, what it answered). Never contains secrets.</param>
/// <param name="ExpectedResumeAt">When the worker looks at the request again. It may answer, fail or wait again then.</param>
/// <param name="Attempts">Provider calls made for this request so far.</param>
/// <param name="Metadata">Echoed from the request.</param>
/// <param name="DelayedAt">When the worker deferred the request.</param>
/// <param name="ReplayCount">0 for a request's first run; n during its n-th ops replay (as on the result).</param>
public sealed record CompletionDelayed(
    Guid RequestId,
    string? ConversationId,
    string Reason,
    string Detail,
    DateTimeOffset ExpectedResumeAt,
    int Attempts,
    IReadOnlyDictionary<string, string>? Metadata,
    DateTimeOffset DelayedAt,
    int ReplayCount = 0);

/// <summary>The stable values of <see cref="CompletionDelayed.Reason"/>. Producers may switch on them.</summary>
public static class DelayReasons
{
    /// <summary>A provider asked to be called again later (Retry-After, or a backoff) and the wait is long.</summary>
    public const string RetryWait = "retry_wait";

    /// <summary>The provider's own rate budget (pacing) frees up later: the worker holds back rather than get a 429.</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>Every provider left to try is known down (breaker open, quota spent): the request waits for one to return
    /// instead of failing.</summary>
    public const string ProvidersUnavailable = "providers_unavailable";
}
