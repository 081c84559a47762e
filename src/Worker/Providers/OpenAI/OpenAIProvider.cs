using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Worker.Contracts;
using ChatClient = global::OpenAI.Chat.ChatClient;
using OpenAIClient = global::OpenAI.OpenAIClient;
using OpenAIClientOptions = global::OpenAI.OpenAIClientOptions;

namespace Worker.Providers.OpenAI;

/// <summary>
/// OpenAI Chat Completions, and compatible APIs (Groq, Mistral, Ollama, OpenRouter, vLLM), through the official SDK's
/// pipeline: it brings auth, endpoint handling and NetworkTimeout, while its retries are switched off because the
/// chain owns every retry. The body is read by us, not by the SDK's typed models (see OpenAIWire.cs). Where a
/// compatible server departs from OpenAI, the configured preset's <see cref="OpenAICompatQuirks"/> say how.
/// </summary>
internal sealed class OpenAIProvider : ICompletionProvider
{
    private static readonly string[] ReasoningModelPrefixes = ["o1", "o3", "o4", "gpt-5"];

    private readonly OpenAIClient _client;
    private readonly ConcurrentDictionary<string, ChatClient> _chats = new(StringComparer.Ordinal);
    private readonly string _apiKey;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly OpenAICompatQuirks _quirks;

    public OpenAIProvider(string name, ProviderOptions options, HttpClient http, TimeProvider time, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ApiKey);
        ArgumentNullException.ThrowIfNull(options.BaseUrl);

        Name = name;
        _apiKey = options.ApiKey;
        _timeout = options.Timeout;
        _time = time;
        _logger = logger;
        _quirks = OpenAICompatPresets.QuirksOf(options.Preset);
        GenAiSystem = OpenAICompatPresets.Find(options.Preset)?.Name switch
        {
            null => "openai",
            "mistral" => "mistral_ai",
            var preset => preset,
        };
        _client = new OpenAIClient(new ApiKeyCredential(options.ApiKey), new OpenAIClientOptions
        {
            Endpoint = options.BaseUrl,
            // The SDK retries 429 and 5xx three times by default; that would multiply the chain's own attempts.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            // Replaces the SDK's 100 s default; covers sending the request and buffering the whole response.
            NetworkTimeout = options.Timeout,
            Transport = new HttpClientPipelineTransport(http),
        });
    }

    public string Name { get; }

    public string GenAiSystem { get; }

    public string? CannotServe(ProviderRequest request) => ChatRequestTranslation.CannotServe(request, _quirks, Name);

    public async Task<ProviderResult> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        // The SDK sends even when handed an already-cancelled token.
        cancellationToken.ThrowIfCancellationRequested();

        if (request.Messages.FirstOrDefault(m => !ChatRequestTranslation.IsKnownRole(m.Role)) is { } unknown)
        {
            return new ProviderFailure(ErrorClass.InvalidRequest, $"message role '{unknown.Role}' is not one of system, user, assistant, tool");
        }

        if (CannotServe(request) is { } reason)
        {
            return new ProviderFailure(ErrorClass.InvalidRequest, reason);
        }

        var body = BuildBody(request);

        try
        {
            var result = await Chat(request.Model).CompleteChatAsync(
                BinaryContent.Create(BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(body, OpenAIJsonContext.Default.ChatRequest))),
                // NoThrow: an HTTP error is an answer to classify, not an exception.
                new RequestOptions { CancellationToken = cancellationToken, ErrorOptions = ClientErrorBehaviors.NoThrow });
            var response = result.GetRawResponse();
            return WithQuota(response.Status is >= 200 and < 300
                ? ReadAnswer(response, request.Model)
                : ReadError(response), response);
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
        catch (ClientResultException ex) when (ex.Status > 0 && ex.GetRawResponse() is { } response)
        {
            // Not raised with NoThrow today; kept so a change of SDK behaviour still classifies correctly.
            return WithQuota(ReadError(response), response);
        }
        catch (Exception ex) when (ResponseRefusedException.In(ex) is { } refused)
        {
            return refused.ToFailure();
        }
        catch (OperationCanceledException)
        {
            // Not the caller's token, so the SDK's NetworkTimeout: it throws TaskCanceledException
            // ("exceeded the configured timeout"), which must not pass for a caller cancellation.
            return new ProviderFailure(ErrorClass.Timeout, $"no response within {_timeout.TotalMilliseconds:0} ms");
        }
        catch (Exception ex) when (FailureText.IsNetwork(ex))
        {
            // Connection failures arrive as ClientResultException with Status 0 wrapping HttpRequestException;
            // a body cut short arrives as a bare IOException.
            return new ProviderFailure(ErrorClass.Network, FailureText.Safe(FailureText.Describe(ex.InnerException ?? ex), _apiKey));
        }
        catch (Exception ex)
        {
            // Not expected; still a failure of this call rather than of the worker, so let the chain decide.
            return new ProviderFailure(ErrorClass.Server, FailureText.Safe($"unexpected {FailureText.Describe(ex)}", _apiKey));
        }
    }

    /// <summary>
    /// Reasoning models (o1, o3, o4, gpt-5 families) reject any temperature other than the default with a 400,
    /// so it is left out for them. Router prefixes such as OpenRouter's "openai/o3-mini" are looked through.
    /// </summary>
    internal static bool IsReasoningModel(string model)
    {
        var id = model[(model.LastIndexOf('/') + 1)..];
        return ReasoningModelPrefixes.Any(p => id.StartsWith(p, StringComparison.OrdinalIgnoreCase));
    }

    // One ChatClient per model, as the SDK intends: its telemetry labels calls with the client's model.
    private ChatClient Chat(string model) =>
        _chats.GetOrAdd(model, static (m, client) => client.GetChatClient(m), _client);

    private ChatRequest BuildBody(ProviderRequest request)
    {
        var temperature = request.Temperature;
        if (temperature is { } t && IsReasoningModel(request.Model))
        {
            Log.TemperatureDropped(_logger, Name, request.Model, t);
            temperature = null;
        }

        return new ChatRequest
        {
            Model = request.Model,
            Messages = ChatRequestTranslation.Messages(request, _quirks),
            MaxCompletionTokens = _quirks.UsesMaxTokens ? null : request.MaxOutputTokens,
            Temperature = temperature,
            MaxTokens = _quirks.UsesMaxTokens ? request.MaxOutputTokens : null,
            Tools = ChatRequestTranslation.Tools(request, _quirks),
            ToolChoice = ChatRequestTranslation.ToolChoice(request, _quirks),
            ResponseFormat = ChatRequestTranslation.ResponseFormat(request),
        };
    }

    private ProviderResult ReadAnswer(PipelineResponse response, string requestedModel)
    {
        ChatResponse? answer;
        try
        {
            answer = JsonSerializer.Deserialize(response.Content.ToMemory().Span, OpenAIJsonContext.Default.ChatResponse);
        }
        catch (JsonException ex)
        {
            return BadOutput(response.Status, $"response is not valid chat.completion JSON: {ex.Message}");
        }

        if (answer?.Choices is not [var choice, ..])
        {
            return BadOutput(response.Status, "response has no choices");
        }

        var finishReason = choice.FinishReason;
        if (string.Equals(finishReason, "content_filter", StringComparison.Ordinal))
        {
            return new ProviderFailure(ErrorClass.ContentBlocked, "answer blocked (finish_reason content_filter)", response.Status);
        }

        var toolCalls = ChatAnswerReading.ToolCalls(choice.Message?.ToolCalls, out var toolCallProblem);
        if (toolCallProblem is not null)
        {
            return BadOutput(response.Status, toolCallProblem);
        }

        var text = TextOf(choice.Message?.Content);
        if (string.IsNullOrWhiteSpace(text) && toolCalls is null)
        {
            if (choice.Message?.Refusal is { Length: > 0 } refusal)
            {
                return new ProviderFailure(ErrorClass.ContentBlocked, FailureText.Safe($"model refused: {refusal}", _apiKey), response.Status);
            }

            return BadOutput(response.Status, string.Equals(finishReason, "length", StringComparison.Ordinal)
                ? "truncated before any text (finish_reason length)"
                : $"choice has no content (finish_reason {finishReason ?? "none"})");
        }

        return new ProviderSuccess(
            string.IsNullOrWhiteSpace(text) ? "" : text,
            answer.Model ?? requestedModel,
            answer.Usage?.PromptTokens,
            answer.Usage?.CompletionTokens,
            finishReason)
        {
            ToolCalls = toolCalls,
            Finish = ChatAnswerReading.Finish(finishReason, toolCalls is not null),
        };
    }

    private static string? TextOf(JsonElement? content)
    {
        switch (content?.ValueKind)
        {
            case JsonValueKind.String:
                return content.Value.GetString();
            case JsonValueKind.Array:
                // [{"type": "text", "text": "..."}], as some compatible servers answer.
                var text = new StringBuilder();
                foreach (var part in content.Value.EnumerateArray())
                {
                    if (part.ValueKind == JsonValueKind.Object
                        && part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String
                        && (!part.TryGetProperty("type", out var type) || type.ValueEquals("text")))
                    {
                        text.Append(t.GetString());
                    }
                }

                return text.ToString();
            default:
                return null;
        }
    }

    private ProviderFailure ReadError(PipelineResponse response)
    {
        var status = response.Status;
        var (code, type, message) = ReadErrorBody(response.Content);

        var errorClass = FailureText.ClassifyStatus(status);
        if (status == 400 && code is "content_filter" or "content_policy_violation")
        {
            errorClass = ErrorClass.ContentBlocked;
        }

        TimeSpan? retryAfter = errorClass == ErrorClass.RateLimited
            ? RetryAfter.FromHeaders(Header(response, "retry-after-ms"), Header(response, "retry-after"), _time.GetUtcNow())
            : null;

        // vLLM repeats the status as a numeric code; only distinct labels are worth the space.
        var label = string.Join(", ", new[] { type, code }
            .Where(s => !string.IsNullOrEmpty(s) && s != status.ToString(CultureInfo.InvariantCulture)));
        var what = message ?? Snippet(response.Content);
        var detail = label.Length > 0 ? $"HTTP {status} ({label}): {what}" : $"HTTP {status}: {what}";
        return new ProviderFailure(errorClass, FailureText.Safe(detail, _apiKey), status, retryAfter);
    }

    /// <summary>
    /// OpenAI sends <c>{"error": {"message", "type", "code"}}</c>; compatible servers vary (vLLM puts the fields at
    /// the top level, some send <c>{"error": "text"}</c>, some a numeric code), so the body is read loosely.
    /// </summary>
    private static (string? Code, string? Type, string? Message) ReadErrorBody(BinaryData body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return default;
            }

            var error = root.TryGetProperty("error", out var e) ? e : root;
            return error.ValueKind switch
            {
                JsonValueKind.String => (null, null, error.GetString()),
                JsonValueKind.Object => (Field(error, "code"), Field(error, "type"), Field(error, "message")),
                _ => default,
            };
        }
        catch (JsonException)
        {
            return default;
        }
    }

    private static string? Field(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Number => value.GetRawText(),
                _ => null,
            }
            : null;

    private static string Snippet(BinaryData body)
    {
        var bytes = body.ToMemory();
        return Encoding.UTF8.GetString(bytes.Span[..Math.Min(bytes.Length, 1024)]);
    }

    /// <summary>
    /// Adds the rate-limit headers, read on every answer (a 200 says how much is left as well as a 429 does), so
    /// provider health can steer away from a provider before it refuses.
    /// </summary>
    private ProviderResult WithQuota(ProviderResult result, PipelineResponse response) =>
        RateLimitHeaders.Read(name => Header(response, name), _time.GetUtcNow()) is { } quota ? result with { Quota = quota } : result;

    private static string? Header(PipelineResponse response, string name) =>
        response.Headers.TryGetValue(name, out var value) ? value : null;

    private ProviderFailure BadOutput(int status, string detail) =>
        new(ErrorClass.BadOutput, FailureText.Safe(detail, _apiKey), status);
}
