using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Worker.Contracts;

namespace Worker.Providers.Gemini;

/// <summary>
/// Google Gemini <c>generateContent</c> over plain HttpClient (no Gemini SDK is available here). One HTTP call per
/// <see cref="CompleteAsync"/>; the chain owns retries.
/// </summary>
internal sealed class GeminiProvider : ICompletionProvider
{
    private const string ApiKeyHeader = "x-goog-api-key";

    // Finish reasons meaning "the provider refused the content", as opposed to "ran out of room" or "done": another
    // provider may answer. LANGUAGE (a language the model does not support) belongs here too: retrying cannot help.
    private static readonly HashSet<string> BlockedFinishReasons = new(StringComparer.OrdinalIgnoreCase)
    {
        "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT",
        "IMAGE_RECITATION", "LANGUAGE",
    };

    // Finish reasons meaning "the model's output is unusable", worth one more try: a tool call that does not parse, a
    // call when toolConfig forbade one, more calls than allowed, or a malformed answer. MISSING_THOUGHT_SIGNATURE cannot
    // happen while every replayed call carries one (GeminiRequestBuilder.ForeignThoughtSignature); were it to, it is this
    // provider's problem, not the request's, so it falls back like bad output rather than failing the request.
    private static readonly HashSet<string> BadOutputFinishReasons = new(StringComparer.OrdinalIgnoreCase)
    {
        "MALFORMED_FUNCTION_CALL", "UNEXPECTED_TOOL_CALL", "TOO_MANY_TOOL_CALLS", "MALFORMED_RESPONSE", "MISSING_THOUGHT_SIGNATURE",
    };

    private static readonly MediaTypeHeaderValue Json = new("application/json") { CharSet = "utf-8" };

    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly string _apiKey;
    private readonly string _modelsUrl;
    private readonly TimeSpan _timeout;

    public GeminiProvider(string name, ProviderOptions options, HttpClient http, TimeProvider time)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ApiKey);
        ArgumentNullException.ThrowIfNull(options.BaseUrl);

        Name = name;
        _http = http;
        _time = time;
        _apiKey = options.ApiKey;
        _timeout = options.Timeout;
        // BaseUrl may carry a path prefix (a proxy or the simulator's /gemini) with or without a trailing slash.
        _modelsUrl = options.BaseUrl.GetLeftPart(UriPartial.Path).TrimEnd('/') + "/v1beta/models/";
    }

    public string Name { get; }

    public string GenAiSystem => "gcp.gemini";

    /// <inheritdoc />
    public string? CannotServe(ProviderRequest request) => GeminiRequestBuilder.CannotServe(GeminiRequestBuilder.Adapt(request).Request);

    public async Task<ProviderResult> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        // A cancelled caller must not cost a call, nor a timer.
        cancellationToken.ThrowIfCancellationRequested();

        var (adapted, answerTool) = GeminiRequestBuilder.Adapt(request);
        var build = GeminiRequestBuilder.Build(adapted);
        if (build.Body is not { } body)
        {
            return new ProviderFailure(ErrorClass.InvalidRequest, build.Error!);
        }

        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, EndpointFor(request.Model));
            // Serialized up front so the request has a Content-Length rather than a chunked body.
            message.Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, GeminiJsonContext.Default.GenerateContentRequest));
            message.Content.Headers.ContentType = Json;
            // The key goes in a header, never the ?key= query string, so no URL in any log or exception carries it.
            message.Headers.TryAddWithoutValidation(ApiKeyHeader, _apiKey);

            using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            var bytes = await response.Content.ReadAsByteArrayAsync(linked.Token);

            if (!response.IsSuccessStatusCode)
                return ReadError(response, bytes);
            var answer = ReadAnswer(bytes, (int)response.StatusCode, request.Model);
            return answerTool is not null && answer is ProviderSuccess success ? AnswerTool.Unwrap(success, answerTool) : answer;
        }
        catch (Exception ex) when (cancellationToken.IsCancellationRequested)
        {
            // The caller gave up (the chain's attempt timeout, or shutdown): classifying that is the caller's job.
            if (ex is OperationCanceledException)
            {
                throw;
            }

            throw new OperationCanceledException("The call was cancelled by the caller.", ex, cancellationToken);
        }
        catch (Exception) when (timeout.IsCancellationRequested)
        {
            // Our Timeout elapsed; whatever the handler threw on the way out (usually a TaskCanceledException).
            return new ProviderFailure(ErrorClass.Timeout, $"no response within {_timeout.TotalMilliseconds:0} ms");
        }
        catch (Exception ex) when (ResponseRefusedException.In(ex) is { } refused)
        {
            return refused.ToFailure();
        }
        catch (OperationCanceledException ex)
        {
            // Cancelled by neither us nor the caller: a handler's own timeout.
            return new ProviderFailure(ErrorClass.Timeout, FailureText.Safe($"timed out: {FailureText.Describe(ex)}", _apiKey));
        }
        catch (Exception ex) when (FailureText.IsNetwork(ex))
        {
            return new ProviderFailure(ErrorClass.Network, FailureText.Safe(FailureText.Describe(ex), _apiKey));
        }
        catch (Exception ex)
        {
            // Not expected; still a failure of this call rather than of the worker, so let the chain decide.
            return new ProviderFailure(ErrorClass.Server, FailureText.Safe($"unexpected {FailureText.Describe(ex)}", _apiKey));
        }
    }

    private Uri EndpointFor(string model)
    {
        // Accept both "gemini-2.5-flash" and the API's own resource name "models/gemini-2.5-flash".
        var id = model.StartsWith("models/", StringComparison.Ordinal) ? model["models/".Length..] : model;
        return new Uri(_modelsUrl + Uri.EscapeDataString(id) + ":generateContent");
    }

    private ProviderResult ReadAnswer(byte[] body, int status, string requestedModel)
    {
        GenerateContentResponse? response;
        try
        {
            response = JsonSerializer.Deserialize(body, GeminiJsonContext.Default.GenerateContentResponse);
        }
        catch (JsonException ex)
        {
            return BadOutput(status, $"response is not valid generateContent JSON: {ex.Message}");
        }

        if (response is null)
        {
            return BadOutput(status, "response body is empty");
        }

        if (response.PromptFeedback?.BlockReason is { Length: > 0 } blockReason)
        {
            var why = response.PromptFeedback.BlockReasonMessage is { Length: > 0 } m ? $": {m}" : "";
            return new ProviderFailure(ErrorClass.ContentBlocked, FailureText.Safe($"prompt blocked ({blockReason}){why}", _apiKey), status);
        }

        if (response.Candidates is not [var candidate, ..])
        {
            return BadOutput(status, "response has no candidates");
        }

        var finishReason = candidate.FinishReason;
        if (finishReason is not null && BlockedFinishReasons.Contains(finishReason))
        {
            return new ProviderFailure(ErrorClass.ContentBlocked, $"answer blocked (finishReason {finishReason})", status);
        }

        if (finishReason is not null && BadOutputFinishReasons.Contains(finishReason))
        {
            var why = candidate.FinishMessage is { Length: > 0 } m ? $": {m}" : "";
            return BadOutput(status, $"unusable answer (finishReason {finishReason}){why}");
        }

        var text = new StringBuilder();
        List<ToolCall>? toolCalls = null;
        foreach (var part in candidate.Content?.Parts ?? [])
        {
            // Thinking models return their reasoning summary as parts marked thought: true; it is not the answer.
            if (part.Thought == true)
            {
                continue;
            }

            if (part.FunctionCall is { } call)
            {
                if (string.IsNullOrEmpty(call.Name))
                {
                    return BadOutput(status, "functionCall without a name");
                }

                (toolCalls ??= []).Add(ToToolCall(call));
            }
            else
            {
                text.Append(part.Text);
            }
        }

        if (toolCalls is null && string.IsNullOrWhiteSpace(text.ToString()))
        {
            return BadOutput(status, string.Equals(finishReason, "MAX_TOKENS", StringComparison.OrdinalIgnoreCase)
                ? "truncated before any text (finishReason MAX_TOKENS)"
                : $"candidate has no text (finishReason {finishReason ?? "none"})");
        }

        // MAX_TOKENS with text is a (truncated) answer: the FinishReason tells the caller.
        return new ProviderSuccess(
            text.ToString(),
            response.ModelVersion ?? requestedModel,
            response.UsageMetadata?.PromptTokenCount,
            response.UsageMetadata?.CandidatesTokenCount,
            finishReason)
        {
            ToolCalls = toolCalls,
            Finish = Normalised(finishReason, toolCalls is not null),
        };
    }

    /// <summary>
    /// Gemini's call id when it sends one (newer models do), else one made up, since a tool message must name the call it
    /// answers; arguments default to an empty object for a call without any.
    /// </summary>
    private static ToolCall ToToolCall(FunctionCall call) => new(
        call.Id is { Length: > 0 } id ? id : ToolCallParts.NewId(),
        call.Name!,
        call.Args is { ValueKind: JsonValueKind.Object } args ? args.Clone() : ToolCallParts.EmptyArguments);

    /// <summary>Gemini's finish reason as one of <see cref="FinishReasons"/>; null for reasons with no equivalent (OTHER).</summary>
    private static string? Normalised(string? finishReason, bool calledTools) => finishReason?.ToUpperInvariant() switch
    {
        "STOP" => calledTools ? FinishReasons.ToolCalls : FinishReasons.Stop,
        "MAX_TOKENS" => FinishReasons.Length,
        _ => null,
    };

    private ProviderFailure ReadError(HttpResponseMessage response, byte[] body)
    {
        var status = (int)response.StatusCode;
        ErrorBody? error = null;
        try
        {
            error = JsonSerializer.Deserialize(body, GeminiJsonContext.Default.ErrorEnvelope)?.Error;
        }
        catch (JsonException)
        {
            // Not Google's envelope (a proxy's HTML page, say): the status and a snippet still say enough.
        }

        var errorClass = FailureText.ClassifyStatus(status);
        if (string.Equals(error?.Status, "RESOURCE_EXHAUSTED", StringComparison.Ordinal))
        {
            errorClass = ErrorClass.RateLimited;
        }
        else if (status == 400 && error?.Details?.Any(d => string.Equals(d.Reason, "API_KEY_INVALID", StringComparison.Ordinal)) == true)
        {
            // Google answers a wrong key with 400 INVALID_ARGUMENT, not 401.
            errorClass = ErrorClass.Auth;
        }

        TimeSpan? retryAfter = null;
        string? dailyQuota = null;
        if (errorClass == ErrorClass.RateLimited)
        {
            var retryInfo = error?.Details?.FirstOrDefault(d =>
                d.Type?.EndsWith("google.rpc.RetryInfo", StringComparison.Ordinal) == true);
            retryAfter = RetryAfter.FromGoogleDuration(retryInfo?.RetryDelay)
                ?? RetryAfter.FromHeaders(Header(response, "retry-after-ms"), Header(response, "Retry-After"), _time.GetUtcNow());

            // A per-day quota comes with a short retryDelay all the same, and retrying does not help before it resets:
            // wait until then, which is longer than any step waits, so the chain falls back and pacing closes the provider.
            dailyQuota = error?.Details?.SelectMany(d => d.Violations ?? []).Select(v => v.QuotaId)
                .FirstOrDefault(id => id?.Contains("PerDay", StringComparison.Ordinal) == true);
            if (dailyQuota is not null)
                retryAfter = GeminiQuota.UntilDailyReset(_time.GetUtcNow());
        }

        var what = error is null
            ? Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 1024))
            : string.Join(": ", new[] { error.Status, error.Message }.Where(s => !string.IsNullOrEmpty(s)));
        if (dailyQuota is not null)
            what += $" (per-day quota {dailyQuota} spent until it resets at midnight Pacific time)";
        var detail = FailureText.Safe($"HTTP {status} {what}", _apiKey);
        return new ProviderFailure(errorClass, detail, status, retryAfter);
    }

    private ProviderFailure BadOutput(int status, string detail) =>
        new(ErrorClass.BadOutput, FailureText.Safe(detail, _apiKey), status);

    private static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;
}
