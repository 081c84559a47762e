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
    /// Calls the provider once. Failures come back classified as <see cref="ProviderFailure"/>; the only
    /// exception thrown is <see cref="OperationCanceledException"/> when <paramref name="cancellationToken"/>
    /// is cancelled (the chain turns an attempt timeout into <see cref="ErrorClass.Timeout"/>).
    /// </summary>
    Task<ProviderResult> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken);
}

/// <summary>What the chain asks of one provider call.</summary>
public sealed record ProviderRequest(
    string Model,
    IReadOnlyList<ChatMessage> Messages,
    int? MaxOutputTokens,
    double? Temperature);

/// <summary>The outcome of one provider call.</summary>
public abstract record ProviderResult
{
    /// <summary>
    /// The provider's rate-limit headers on this response, success or failure, when it sent any (OpenAI and compatible
    /// APIs do; Gemini does not). Provider health keeps the latest per provider and model.
    /// </summary>
    public QuotaReading? Quota { get; init; }
}

/// <summary>The provider produced usable text.</summary>
/// <param name="FinishReason">The provider's own finish reason, e.g. STOP, MAX_TOKENS, stop, length.</param>
public sealed record ProviderSuccess(
    string Text,
    string Model,
    int? InputTokens,
    int? OutputTokens,
    string? FinishReason) : ProviderResult;

/// <summary>The call failed; <see cref="Class"/> decides what happens next.</summary>
/// <param name="Detail">Human-readable and safe to log: never contains the API key.</param>
/// <param name="HttpStatus">The HTTP status, when the provider answered at all.</param>
/// <param name="RetryAfter">Retry-After header or Gemini RetryInfo.retryDelay, when given.</param>
public sealed record ProviderFailure(
    ErrorClass Class,
    string Detail,
    int? HttpStatus = null,
    TimeSpan? RetryAfter = null) : ProviderResult;
