using System.Text.Json;
using Anthropic;
using Anthropic.Core;
using Anthropic.Exceptions;
using Anthropic.Models.Messages;

namespace Worker.Providers.Anthropic;

/// <summary>
/// Anthropic's Messages API through the official SDK's client: it brings the endpoint, the auth and
/// anthropic-version headers and its request pipeline, over the provider's named HttpClient (so MaxResponseBytes and the
/// connection pool apply). Its retries are off because the chain owns every retry. The body is built and read by us
/// (MessageCreateParams.FromRawUnchecked and the raw response), not through the SDK's typed models; see AnthropicWire.cs.
/// </summary>
internal sealed class AnthropicProvider : ICompletionProvider
{
    private static readonly Dictionary<string, JsonElement> NoParameters = [];

    private readonly IAnthropicClient _client;
    private readonly string _apiKey;
    private readonly TimeSpan _timeout;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public AnthropicProvider(string name, ProviderOptions options, HttpClient http, TimeProvider time, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ApiKey);
        ArgumentNullException.ThrowIfNull(options.BaseUrl);

        Name = name;
        _apiKey = options.ApiKey;
        _timeout = options.Timeout;
        _time = time;
        _logger = logger;
        _client = new AnthropicClient(new ClientOptions
        {
            HttpClient = http,
            Handlers = [new ResponseHeaderCapture()],
            BaseUrl = options.BaseUrl.GetLeftPart(UriPartial.Path),
            // A key given explicitly keeps the SDK from reading any credential of its own (ANTHROPIC_API_KEY,
            // ANTHROPIC_AUTH_TOKEN, profiles): the provider's configuration is the only source. SDK 13.14 sends it as
            // Authorization: Bearer.
            ApiKey = options.ApiKey,
            // The SDK retries connection errors, its own timeouts, 408, 409, 429 and 5xx twice by default; that would
            // multiply the chain's own attempts.
            MaxRetries = 0,
            // Replaces the SDK's 10-minute default for the whole call, body included.
            Timeout = options.Timeout,
            // Given explicitly, so the SDK ignores ANTHROPIC_OPEN_TELEMETRY_TRACES_CONTENT_MODE: an environment variable
            // must not be able to put conversations into trace spans. Spans keep their metadata-only default.
            OpenTelemetry = new OpenTelemetryOptions(),
        });
    }

    public string Name { get; }

    public string GenAiSystem => "anthropic";

    public string? CannotServe(ProviderRequest request) => AnthropicRequests.CannotServe(request);

    public async Task<ProviderResult> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken)
    {
        // A cancelled caller must not cost a call, nor a timer.
        cancellationToken.ThrowIfCancellationRequested();

        if (CannotServe(request) is { } reason)
        {
            return new ProviderFailure(ErrorClass.InvalidRequest, reason);
        }

        var call = AnthropicRequests.Build(request, Temperature(request));
        var parameters = MessageCreateParams.FromRawUnchecked(NoParameters, NoParameters, RawBody(call.Body));
        var headers = ResponseHeaderCapture.Begin();

        // The same bound as the SDK's Timeout, but on the injected clock (the SDK's timer runs on the real one), so the
        // worker's clock decides, as for the other providers.
        using var timeout = new CancellationTokenSource(_timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var response = await _client.WithRawResponse.Messages.Create(parameters, linked.Token);
            var body = await response.RawMessage.Content.ReadAsByteArrayAsync(linked.Token);
            var result = AnthropicAnswer.Read(body, (int)response.StatusCode, request.Model, call.AnswerTool, _apiKey);
            if (result is ProviderSuccess { FinishReason: { } stopReason } success && !AnthropicAnswer.IsKnownStopReason(stopReason))
            {
                Log.UnknownStopReason(_logger, Name, success.Model, stopReason);
            }

            return WithQuota(result, headers);
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
            // Our Timeout elapsed; whatever the SDK or the handler threw on the way out (usually a TaskCanceledException).
            return new ProviderFailure(ErrorClass.Timeout, $"no response within {_timeout.TotalMilliseconds:0} ms");
        }
        catch (Exception ex) when (ResponseRefusedException.In(ex) is { } refused)
        {
            return WithQuota(refused.ToFailure(), headers);
        }
        catch (AnthropicApiException ex)
        {
            // Any status outside 2xx, a 3xx included: redirects are not followed (see ProviderHttpClientSetup).
            return WithQuota(AnthropicErrors.Read((int)ex.StatusCode, ex.ResponseBody, Header(headers), _time.GetUtcNow(), _apiKey), headers);
        }
        catch (OperationCanceledException ex)
        {
            // Cancelled by neither us nor the caller: the SDK's own Timeout, which runs on the real clock.
            return new ProviderFailure(ErrorClass.Timeout, FailureText.Safe($"timed out: {FailureText.Describe(ex)}", _apiKey));
        }
        catch (AnthropicIOException ex)
        {
            // The SDK wraps the HttpRequestException of a refused or reset connection.
            return new ProviderFailure(ErrorClass.Network, FailureText.Safe(FailureText.Describe((Exception?)ex.InnerException ?? ex), _apiKey));
        }
        catch (Exception ex) when (FailureText.IsNetwork(ex))
        {
            // A body cut short arrives as a bare IOException.
            return new ProviderFailure(ErrorClass.Network, FailureText.Safe(FailureText.Describe(ex), _apiKey));
        }
        catch (Exception ex)
        {
            // Not expected; still a failure of this call rather than of the worker, so let the chain decide.
            return new ProviderFailure(ErrorClass.Server, FailureText.Safe($"unexpected {FailureText.Describe(ex)}", _apiKey));
        }
    }

    /// <summary>The Messages API rejects temperatures above 1 with a 400, which would fail the request; 1 is the closest it takes.</summary>
    private double? Temperature(ProviderRequest request)
    {
        if (request.Temperature is { } t && t > AnthropicRequests.MaxTemperature)
        {
            Log.TemperatureClamped(_logger, Name, request.Model, t);
            return AnthropicRequests.MaxTemperature;
        }

        return request.Temperature;
    }

    private static Dictionary<string, JsonElement> RawBody(MessagesRequest body) =>
        JsonSerializer.SerializeToElement(body, AnthropicJsonContext.Default.MessagesRequest)
            .EnumerateObject()
            .ToDictionary(p => p.Name, p => p.Value, StringComparer.Ordinal);

    /// <summary>Adds the rate-limit headers, read on every answer (a 200 says how much is left as well as a 429 does).</summary>
    private ProviderResult WithQuota(ProviderResult result, IReadOnlyDictionary<string, string> headers) =>
        AnthropicQuota.Read(Header(headers), _time.GetUtcNow()) is { } quota ? result with { Quota = quota } : result;

    private static Func<string, string?> Header(IReadOnlyDictionary<string, string> headers) =>
        name => headers.TryGetValue(name, out var value) ? value : null;
}
