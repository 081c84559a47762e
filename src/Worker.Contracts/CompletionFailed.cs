namespace Worker.Contracts;

/// <summary>The request identified by <see cref="RequestId"/> could not be answered.</summary>
/// <param name="RequestId">The id from <see cref="CompletionRequested.RequestId"/>.</param>
/// <param name="ConversationId">Echoed from the request.</param>
/// <param name="Reason">A stable snake_case code; see <see cref="FailureReasons"/>.</param>
/// <param name="Error">Human-readable detail. Never contains secrets.</param>
/// <param name="Attempts">Provider calls made for this request.</param>
/// <param name="DeadLettered">True when the request was parked for ops replay.</param>
/// <param name="Metadata">Echoed from the request.</param>
/// <param name="FailedAt">When the worker gave up.</param>
/// <param name="ReplayCount">0 for a request's first outcome; n for the outcome of its n-th ops replay (see
/// <see cref="CompletionSucceeded.ReplayCount"/>).</param>
/// <param name="Supersedes">The message id of the earlier outcome this one replaces, or null for a first outcome.</param>
/// <param name="Route">Where the request went and why (the tier, the candidate order, the reason).</param>
/// <param name="CostUsd">Estimated cost in USD of all calls made for this outcome, from the price table (a JSON number, rounded to
/// 8 decimals); 0 when no call was priced.</param>
public sealed record CompletionFailed(
    Guid RequestId,
    string? ConversationId,
    string Reason,
    string Error,
    int Attempts,
    bool DeadLettered,
    IReadOnlyDictionary<string, string>? Metadata,
    DateTimeOffset FailedAt,
    int ReplayCount = 0,
    Guid? Supersedes = null,
    RouteDecision? Route = null,
    double? CostUsd = null);

/// <summary>The stable values of <see cref="CompletionFailed.Reason"/>. Producers may switch on them.</summary>
public static class FailureReasons
{
    /// <summary>Every step of the chain failed with transient errors (server, network, timeout, rate limit).</summary>
    public const string ProvidersExhausted = "providers_exhausted";

    /// <summary>The request itself is invalid; the error names the field. Retrying it unchanged will fail again.</summary>
    public const string InvalidRequest = "invalid_request";

    /// <summary>The deadline passed before a provider could answer.</summary>
    public const string DeadlineExceeded = "deadline_exceeded";

    /// <summary>Every provider that was asked refused the content (safety, recitation, content filter).</summary>
    public const string ContentBlocked = "content_blocked";

    /// <summary>No provider call fits the request's <c>route.maxCostUsd</c> or its tenant's daily budget; no call was made
    /// past the budget.</summary>
    public const string BudgetExceeded = "budget_exceeded";

    /// <summary>The request was marked <c>sheddable</c> and the worker was behind (its backlog past the configured depth or
    /// age): answered at once, with no provider call. Publish it again later if it is still wanted.</summary>
    public const string Shed = "shed";
}
