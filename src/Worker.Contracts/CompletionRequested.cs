namespace Worker.Contracts;

/// <summary>
/// Published by a chat or SDR backend to ask for one completion. The worker answers with exactly one
/// <see cref="CompletionSucceeded"/> or <see cref="CompletionFailed"/> carrying the same <see cref="RequestId"/>.
/// </summary>
/// <param name="RequestId">The producer's idempotency key: the same id is never answered twice.</param>
/// <param name="ConversationId">The producer's correlation (chat, thread or lead id), echoed back.</param>
/// <param name="Messages">The conversation so far, oldest first.</param>
/// <param name="Chain">Named provider chain; null means "default".</param>
/// <param name="MaxOutputTokens">Upper bound on generated tokens; null leaves it to the provider.</param>
/// <param name="Temperature">Sampling temperature (0 to 2); null leaves it to the provider.</param>
/// <param name="Deadline">After this instant no provider is called; the request fails with <c>deadline_exceeded</c>.</param>
/// <param name="Metadata">Free-form string pairs, echoed back on the result.</param>
/// <param name="Route">Routing hints: the task's complexity and quality, a cost cap, a forced provider. Ignored when
/// <paramref name="Chain"/> is set (a named chain is a fixed order). Null runs the default chain as it is configured.</param>
/// <param name="Tenant">Whose daily budget and limits apply; null for none.</param>
/// <param name="Cache">Whether the chain's response cache may answer this request (and store its answer); null follows
/// the chain's configuration. Only chains with a cache configured have one.</param>
/// <param name="AllowDegraded">True: when no provider can answer, a stale cached answer or the chain's template may answer
/// at once (<c>degraded: true</c>), the request is parked, and the real answer follows when it is replayed. Meant for chat
/// work, where some answer now beats a silent wait. Default false: such a request waits or fails as before.</param>
/// <param name="Priority">0 (lowest) to 9 (highest), default 5: among waiting requests, higher runs first. The broker orders
/// by the message's AMQP <c>priority</c> property, so set that too (<see cref="RequestPriority.Amqp"/>).</param>
/// <param name="Sheddable">True for work that may be dropped when the worker is behind (look-ahead, pre-computation): past
/// the configured backlog depth or age it is answered at once with <c>CompletionFailed</c> reason <c>shed</c>, without a
/// provider call. Default false.</param>
/// <param name="Tools">Tools the model may call; the answer may then carry <see cref="CompletionSucceeded.ToolCalls"/>
/// instead of (or with) text. Only steps whose model supports tools are tried.</param>
/// <param name="ToolChoice">Whether and which tool the model must call; null means <c>auto</c> when tools are given.</param>
/// <param name="ResponseFormat">Ask for JSON (<c>json</c>) or JSON satisfying a schema (<c>json_schema</c>); the result then
/// carries the parsed value in <see cref="CompletionSucceeded.Json"/>. Null: free text.</param>
public sealed record CompletionRequested(
    Guid RequestId,
    string? ConversationId,
    IReadOnlyList<ChatMessage> Messages,
    string? Chain = null,
    int? MaxOutputTokens = null,
    double? Temperature = null,
    DateTimeOffset? Deadline = null,
    IReadOnlyDictionary<string, string>? Metadata = null,
    RouteHints? Route = null,
    string? Tenant = null,
    CacheHints? Cache = null,
    bool AllowDegraded = false,
    int Priority = RequestPriority.Default,
    bool Sheddable = false,
    IReadOnlyList<ToolDefinition>? Tools = null,
    ToolChoice? ToolChoice = null,
    ResponseFormat? ResponseFormat = null);

/// <summary>A request's say on the chain's response cache.</summary>
/// <param name="Use">False: this request neither reads nor writes the cache (a private or one-off answer). Null or true:
/// the chain's configuration decides.</param>
/// <param name="MaxAgeSeconds">A cached answer older than this does not count as fresh for this request (0: always ask a
/// provider, and refresh the entry). Null: the chain's TtlSeconds. It never widens the chain's freshness, and does not
/// change what stale-if-error may use.</param>
public sealed record CacheHints(bool? Use = null, int? MaxAgeSeconds = null);

/// <summary>
/// The values of <see cref="CompletionRequested.Priority"/>, and the AMQP <c>priority</c> property a producer sets so the
/// broker's priority queue can order the message (the broker never reads the body).
/// </summary>
/// <example>MassTransit: <c>await bus.Publish(request, ctx => ctx.SetPriority(RequestPriority.Amqp(request)));</c>
/// Raw AMQP: the basic property <c>priority</c> = the request's priority.</example>
public static class RequestPriority
{
    /// <summary>The lowest priority.</summary>
    public const int Lowest = 0;

    /// <summary>What a request without a priority gets.</summary>
    public const int Default = 5;

    /// <summary>The highest priority.</summary>
    public const int Highest = 9;

    /// <summary>The AMQP priority for <paramref name="request"/>: its priority, kept within 0..9.</summary>
    public static byte Amqp(CompletionRequested request) => (byte)Math.Clamp(request.Priority, Lowest, Highest);
}

/// <summary>How to pick the providers for a request. Every field is optional.</summary>
/// <param name="Complexity">One of <see cref="RouteComplexity"/>: trivial work goes to cheap, fast models, expert work to
/// the strongest.</param>
/// <param name="Quality">One of <see cref="RouteQuality"/>.</param>
/// <param name="MaxCostUsd">The most this request may cost across all its calls, estimated before each call (prompt
/// tokens estimated, the output budget, the price table). A call that would pass it is skipped; when no call fits, the
/// request fails with <c>budget_exceeded</c>. A JSON number (a double: budgets are estimates, not accounting).</param>
/// <param name="Provider">Force this configured provider first.</param>
/// <param name="Model">Force this model first (with <paramref name="Provider"/>, or on whichever provider serves it in the
/// route).</param>
/// <param name="FallbackAllowed">False: only the forced provider (and model) is tried. Default true.</param>
public sealed record RouteHints(
    string? Complexity = null,
    string? Quality = null,
    double? MaxCostUsd = null,
    string? Provider = null,
    string? Model = null,
    bool? FallbackAllowed = null);

/// <summary>The values of <see cref="RouteHints.Complexity"/>, from the least to the most demanding.</summary>
public static class RouteComplexity
{
    /// <summary>Lookups, classification, one-line replies.</summary>
    public const string Trivial = "trivial";
    /// <summary>Short answers and rewrites.</summary>
    public const string Simple = "simple";
    /// <summary>Ordinary conversation turns.</summary>
    public const string Moderate = "moderate";
    /// <summary>Multi-step reasoning, long drafts.</summary>
    public const string Complex = "complex";
    /// <summary>The hardest work: the strongest model first.</summary>
    public const string Expert = "expert";

    /// <summary>Every value, least demanding first.</summary>
    public static readonly IReadOnlyList<string> All = [Trivial, Simple, Moderate, Complex, Expert];
}

/// <summary>The values of <see cref="RouteHints.Quality"/>.</summary>
public static class RouteQuality
{
    /// <summary>Good enough for an internal draft.</summary>
    public const string Draft = "draft";
    /// <summary>Shown to a customer.</summary>
    public const string Production = "production";
    /// <summary>Must be right: the strongest model first.</summary>
    public const string Critical = "critical";

    /// <summary>Every value, least demanding first.</summary>
    public static readonly IReadOnlyList<string> All = [Draft, Production, Critical];
}

/// <summary>Where a request went and why, as carried by its result.</summary>
/// <param name="Tier">The configured route that matched, e.g. <c>trivial</c> or <c>expert_critical</c>; <c>chain:NAME</c>
/// for a request that named a chain or gave no route.</param>
/// <param name="Candidates">The provider/model pairs in the order they were to be tried.</param>
/// <param name="Reason">Why this order, in a sentence.</param>
public sealed record RouteDecision(string Tier, IReadOnlyList<string> Candidates, string Reason);

/// <summary>One turn of a conversation.</summary>
/// <param name="Role">One of <c>system</c>, <c>user</c>, <c>assistant</c>, <c>tool</c>.</param>
/// <param name="Content">The text of the turn; for a <c>tool</c> message, the tool's result (JSON or text). May be empty
/// (or null) only on an assistant message that carries <paramref name="ToolCalls"/>.</param>
/// <param name="ToolCalls">On an assistant message: the tool calls that turn made, as a result's
/// <see cref="CompletionSucceeded.ToolCalls"/> gave them (whichever provider made them).</param>
/// <param name="ToolCallId">On a <c>tool</c> message: the <see cref="ToolCall.Id"/> this result answers.</param>
public sealed record ChatMessage(string Role, string? Content, IReadOnlyList<ToolCall>? ToolCalls = null, string? ToolCallId = null);

/// <summary>The well-known values of <see cref="ChatMessage.Role"/>.</summary>
public static class ChatRoles
{
    /// <summary>Instructions for the model.</summary>
    public const string System = "system";

    /// <summary>The human (or the backend speaking for one).</summary>
    public const string User = "user";

    /// <summary>An earlier model answer.</summary>
    public const string Assistant = "assistant";

    /// <summary>A tool's result, answering the call named by <see cref="ChatMessage.ToolCallId"/>.</summary>
    public const string Tool = "tool";
}
