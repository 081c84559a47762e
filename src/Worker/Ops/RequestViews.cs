using Worker.Contracts;

namespace Worker.Ops;

/// <summary>A request row as the ops API shows it; the prompt and response texts only appear in the detail.</summary>
public sealed record RequestView(
    Guid RequestId,
    string? ConversationId,
    string Chain,
    string Status,
    DateTimeOffset ReceivedAt,
    DateTimeOffset? FirstAttemptAt,
    DateTimeOffset? CompletedAt,
    string? Provider,
    string? Model,
    bool FallbackUsed,
    int AttemptCount,
    TokenCounts? Tokens,
    decimal? EstimatedCostUsd,
    string? FailureReason,
    string? Error,
    int ReplayCount,
    IReadOnlyDictionary<string, string>? Metadata,
    string? PromptHash,
    string? ResponseHash,
    string? Tenant = null,
    RouteDecision? Route = null);

/// <summary>
/// <c>GET /requests/{requestId}</c>: the request, its prompt and response when the storage policy kept them, and its
/// attempts in the order they happened.
/// </summary>
public sealed record RequestDetail(RequestView Request, string? Prompt, string? Response, IReadOnlyList<AttemptView> Attempts);

/// <summary>One row of the timeline: a provider call, or a step skipped without one.</summary>
public sealed record AttemptView(
    int Step,
    string Provider,
    string Model,
    int Attempt,
    DateTimeOffset StartedAt,
    DateTimeOffset EndedAt,
    int LatencyMs,
    bool CallMade,
    string Outcome,
    string? ErrorClass,
    int? HttpStatus,
    int? RetryAfterMs,
    string Decision,
    int? WaitMs,
    string? Note,
    string? Detail,
    TokenCounts? Tokens,
    decimal? CostUsd);

public sealed record TokenCounts(int? Input, int? Output)
{
    public static TokenCounts? Of(int? input, int? output) => input is null && output is null ? null : new(input, output);
}
