using Worker.Contracts;

namespace Worker.Providers;

/// <summary>
/// One LLM provider reached over HTTP. An implementation makes exactly one call per invocation and never
/// retries by itself: the chain owns every retry, so the configured counts are the counts paid for.
/// </summary>
public interface ICompletionProvider
{
    /// <summary>The configured name, e.g. "gemini".</summary>
    string Name { get; }

    /// <summary>
    /// Who serves the API, as the OpenTelemetry GenAI conventions name it (gen_ai.provider.name: gcp.gemini, openai,
    /// anthropic, groq, mistral_ai...); the configured name when no convention fits.
    /// </summary>
    string GenAiSystem => Name;

    /// <summary>
    /// Calls the provider once. Failures come back classified as <see cref="ProviderFailure"/>; the only
    /// exception thrown is <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/>
    /// is cancelled (the chain turns an attempt timeout into <see cref="ErrorClass.Timeout"/>).
    /// </summary>
    Task<ProviderResult> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken);

    /// <summary>
    /// Why this provider cannot take <paramref name="request"/> at all, found without a call (a schema its dialect cannot
    /// express, say), or null when it can. The chain skips such a step at no cost; <see cref="CompleteAsync"/> answers the
    /// same request with an <see cref="ErrorClass.InvalidRequest"/> failure naming the same reason.
    /// </summary>
    string? CannotServe(ProviderRequest request) => null;
}

/// <summary>What the chain asks of one provider call.</summary>
/// <param name="Tools">The request's tools, in the contract's form; each provider translates them to its wire format.</param>
/// <param name="ToolChoice">Null: auto when there are tools.</param>
/// <param name="ResponseFormat">Null: free text.</param>
public sealed record ProviderRequest(
    string Model,
    IReadOnlyList<ChatMessage> Messages,
    int? MaxOutputTokens,
    double? Temperature,
    IReadOnlyList<ToolDefinition>? Tools = null,
    ToolChoice? ToolChoice = null,
    ResponseFormat? ResponseFormat = null);

/// <summary>The outcome of one provider call.</summary>
public abstract record ProviderResult
{
    /// <summary>
    /// The provider's rate-limit headers on this response, success or failure, when it sent any (OpenAI and compatible
    /// APIs do; Gemini does not). Provider health keeps the latest per provider and model.
    /// </summary>
    public QuotaReading? Quota { get; init; }
}

/// <summary>The provider produced a usable answer: text, tool calls, or both.</summary>
/// <param name="Text">The answer's text; empty when the model only called tools.</param>
/// <param name="FinishReason">The provider's own finish reason, e.g. STOP, MAX_TOKENS, stop, length, end_turn.</param>
public sealed record ProviderSuccess(
    string Text,
    string Model,
    int? InputTokens,
    int? OutputTokens,
    string? FinishReason) : ProviderResult
{
    /// <summary>The tool calls the model made, in the contract's form (ids given or made by the provider class); null for none.</summary>
    public IReadOnlyList<ToolCall>? ToolCalls { get; init; }

    /// <summary><see cref="FinishReason"/> normalised to one of <see cref="FinishReasons"/>; null when the provider gave none.</summary>
    public string? Finish { get; init; }

    /// <summary>The answer parsed as JSON, set by the chain's output check when the request asked for JSON.</summary>
    public System.Text.Json.JsonElement? Json { get; init; }
}

/// <summary>The call failed; <see cref="Class"/> decides what happens next.</summary>
/// <param name="Detail">Human-readable and safe to log: never contains the API key.</param>
/// <param name="HttpStatus">The HTTP status, when the provider answered at all.</param>
/// <param name="RetryAfter">Retry-After header or Gemini RetryInfo.retryDelay, when given.</param>
public sealed record ProviderFailure(
    ErrorClass Class,
    string Detail,
    int? HttpStatus = null,
    TimeSpan? RetryAfter = null) : ProviderResult
{
    /// <summary>Prompt tokens of a call that was answered and billed, yet failed the output check; null otherwise.</summary>
    public int? InputTokens { get; init; }

    /// <summary>Generated tokens of such a call; null otherwise.</summary>
    public int? OutputTokens { get; init; }
}
