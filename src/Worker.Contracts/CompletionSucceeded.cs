namespace Worker.Contracts;

/// <summary>A provider answered the request identified by <see cref="RequestId"/>.</summary>
/// <param name="RequestId">The id from <see cref="CompletionRequested.RequestId"/>.</param>
/// <param name="ConversationId">Echoed from the request.</param>
/// <param name="Text">The completion text.</param>
/// <param name="Provider">The configured provider name that answered, e.g. <c>gemini</c>.</param>
/// <param name="Model">The model that answered.</param>
/// <param name="FallbackUsed">True when the answer came from a step after the chain's first.</param>
/// <param name="Attempts">Provider calls made for this request, including failed ones.</param>
/// <param name="InputTokens">Prompt tokens as reported by the provider.</param>
/// <param name="OutputTokens">Generated tokens as reported by the provider.</param>
/// <param name="Metadata">Echoed from the request.</param>
/// <param name="CompletedAt">When the worker finished the request.</param>
/// <param name="ReplayCount">0 for a request's first outcome; an outcome produced by the n-th ops replay carries n. Of two
/// results for one request, the higher count is the newer outcome and replaces the older one.</param>
/// <param name="Supersedes">The message id of the earlier outcome this one replaces (a replay's answer after a parked
/// failure), or null for a first outcome.</param>
/// <param name="Route">Where the request went and why (the tier, the candidate order, the reason).</param>
/// <param name="CostUsd">Estimated cost in USD of all calls made for this outcome, from the price table (a JSON number, rounded to
/// 8 decimals); 0 when no call was priced.</param>
/// <param name="Source">Where the text came from; see <see cref="ResultSources"/>: <c>provider</c>, <c>cache</c> or
/// <c>template</c>. A result stored before the field existed reads as <c>provider</c>.</param>
/// <param name="CacheAgeSeconds">For <c>source: cache</c>, how old the cached answer was (seconds since a provider gave
/// it); null otherwise.</param>
/// <param name="Degraded">True when the answer is a last resort given because no provider could answer (a stale cached
/// answer, or the chain's template): the request was also parked, and a replay's real answer follows as a newer outcome
/// (higher <see cref="ReplayCount"/>, <see cref="Supersedes"/> naming this result's message id).</param>
/// <param name="ToolCalls">The tool calls the model asks for (ids stable: a redelivered or re-read result carries the same
/// ones), each checked against the request's tools; null when it called none. Run them, then send the conversation back
/// with this turn as an assistant message carrying them and one <c>tool</c> message per call.</param>
/// <param name="FinishReason">Why the answer ended, normalised across providers: one of <see cref="FinishReasons"/>. Null on
/// a cached or template answer, and on results stored before the field existed.</param>
/// <param name="Json">When the request asked for <c>json</c> or <c>json_schema</c>: the answer parsed (and checked against
/// the schema), in addition to <see cref="Text"/>. Null otherwise.</param>
public sealed record CompletionSucceeded(
    Guid RequestId,
    string? ConversationId,
    string Text,
    string Provider,
    string Model,
    bool FallbackUsed,
    int Attempts,
    int? InputTokens,
    int? OutputTokens,
    IReadOnlyDictionary<string, string>? Metadata,
    DateTimeOffset CompletedAt,
    int ReplayCount = 0,
    Guid? Supersedes = null,
    RouteDecision? Route = null,
    double? CostUsd = null,
    string Source = ResultSources.Provider,
    double? CacheAgeSeconds = null,
    bool Degraded = false,
    IReadOnlyList<ToolCall>? ToolCalls = null,
    string? FinishReason = null,
    System.Text.Json.JsonElement? Json = null);

/// <summary>The stable values of <see cref="CompletionSucceeded.Source"/>. Producers may switch on them.</summary>
public static class ResultSources
{
    /// <summary>A provider call answered this request (<see cref="CompletionSucceeded.Provider"/> names it).</summary>
    public const string Provider = "provider";

    /// <summary>The chain's response cache answered: no provider was called for this outcome.</summary>
    public const string Cache = "cache";

    /// <summary>The chain's configured template answered, filled from the request's metadata (always degraded).</summary>
    public const string Template = "template";
}
