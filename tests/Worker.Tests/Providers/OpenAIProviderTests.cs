using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Worker.Chain;
using Worker.Contracts;
using Worker.Providers;
using Worker.Providers.OpenAI;
using static Worker.Tests.Providers.StubHandler;

namespace Worker.Tests.Providers;

public class OpenAIProviderTests
{
    // Deliberately not shaped like an OpenAI key, so redaction is proven for the exact key, not by pattern.
    private const string Key = "test-openai-key-51d0e2";

    private const string Answer = """
        {
          "id": "chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG",
          "object": "chat.completion",
          "created": 1741570283,
          "model": "gpt-4o-mini-2024-07-18",
          "choices": [
            {
              "index": 0,
              "message": { "role": "assistant", "content": "Hello, world", "refusal": null, "annotations": [] },
              "logprobs": null,
              "finish_reason": "stop"
            }
          ],
          "usage": {
            "prompt_tokens": 19,
            "completion_tokens": 3,
            "total_tokens": 22,
            "prompt_tokens_details": { "cached_tokens": 0, "audio_tokens": 0 },
            "completion_tokens_details": { "reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0 }
          },
          "service_tier": "default",
          "system_fingerprint": "fp_06737a9306"
        }
        """;

    private static readonly ProviderRequest Request = new(
        "gpt-4o-mini",
        [
            new ChatMessage("system", "Be brief."),
            new ChatMessage("user", "Hi"),
            new ChatMessage("assistant", "Hello!"),
            new ChatMessage("user", "How are you?"),
        ],
        MaxOutputTokens: 256,
        Temperature: 0.2);

    private static OpenAIProvider Provider(StubHandler handler, string baseUrl = "https://openai.test/v1", TimeSpan? timeout = null, TimeProvider? time = null) =>
        new("openai",
            new ProviderOptions { Kind = ProviderKind.OpenAI, BaseUrl = new Uri(baseUrl), ApiKey = Key, Timeout = timeout ?? TimeSpan.FromSeconds(30) },
            new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan },
            time ?? TimeProvider.System,
            NullLogger.Instance);

    private static async Task<ProviderFailure> Failure(StubHandler handler, ProviderRequest? request = null)
    {
        var result = await Provider(handler).CompleteAsync(request ?? Request, CancellationToken.None);
        var failure = Assert.IsType<ProviderFailure>(result);
        // Exactly one HTTP call: the SDK's own retry policy must be off.
        Assert.Equal(1, handler.Calls);
        Assert.DoesNotContain(Key, failure.Detail);
        return failure;
    }

    private static string Error(string message, string? type, string? code) =>
        JsonSerializer.Serialize(new { error = new { message, type, param = (string?)null, code } });

    private static string Choice(string content, string finishReason) =>
        $$$"""
        {"id":"chatcmpl-1","object":"chat.completion","created":1741570283,"model":"gpt-4o-mini-2024-07-18",
         "choices":[{"index":0,"message":{"role":"assistant","content":{{{content}}},"refusal":null},"logprobs":null,"finish_reason":"{{{finishReason}}}"}],
         "usage":{"prompt_tokens":19,"completion_tokens":0,"total_tokens":19}}
        """;

    [Fact]
    public async Task Answer_maps_text_tokens_model_and_finish_reason()
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));

        var result = await Provider(handler).CompleteAsync(Request, CancellationToken.None);

        var success = Assert.IsType<ProviderSuccess>(result);
        Assert.Equal("Hello, world", success.Text);
        Assert.Equal("gpt-4o-mini-2024-07-18", success.Model);
        Assert.Equal(19, success.InputTokens);
        Assert.Equal(3, success.OutputTokens);
        Assert.Equal("stop", success.FinishReason);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public async Task Request_goes_to_chat_completions_with_bearer_key_roles_and_limits()
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));

        await Provider(handler, "http://127.0.0.1:5080/openai/v1/").CompleteAsync(Request, CancellationToken.None);

        var sent = handler.Last;
        Assert.Equal(HttpMethod.Post, sent.Method);
        Assert.Equal("http://127.0.0.1:5080/openai/v1/chat/completions", sent.Uri.AbsoluteUri);
        Assert.Equal($"Bearer {Key}", sent.Headers["Authorization"]);
        Assert.DoesNotContain(Key, sent.Uri.OriginalString);
        Assert.DoesNotContain(Key, sent.Body);

        using var body = JsonDocument.Parse(sent.Body);
        var root = body.RootElement;
        Assert.Equal("gpt-4o-mini", root.GetProperty("model").GetString());
        var messages = root.GetProperty("messages").EnumerateArray()
            .Select(m => (m.GetProperty("role").GetString(), m.GetProperty("content").GetString()))
            .ToList();
        Assert.Equal([("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello!"), ("user", "How are you?")], messages);
        Assert.Equal(256, root.GetProperty("max_completion_tokens").GetInt32());
        Assert.Equal(0.2, root.GetProperty("temperature").GetDouble());
    }

    [Fact]
    public async Task Request_without_limits_sends_neither_max_tokens_nor_temperature()
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));

        await Provider(handler).CompleteAsync(Request with { MaxOutputTokens = null, Temperature = null }, CancellationToken.None);

        using var body = JsonDocument.Parse(handler.Last.Body);
        Assert.False(body.RootElement.TryGetProperty("max_completion_tokens", out _));
        Assert.False(body.RootElement.TryGetProperty("temperature", out _));
    }

    [Theory]
    [InlineData("o3-mini", false)]
    [InlineData("o1", false)]
    [InlineData("o4-mini", false)]
    [InlineData("gpt-5", false)]
    [InlineData("gpt-5-mini", false)]
    [InlineData("openai/o3-mini", false)]
    [InlineData("gpt-4o-mini", true)]
    [InlineData("gpt-4.1", true)]
    [InlineData("llama-3.3-70b-versatile", true)]
    public async Task Temperature_is_omitted_for_reasoning_models_only(string model, bool sent)
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));

        await Provider(handler).CompleteAsync(Request with { Model = model }, CancellationToken.None);

        using var body = JsonDocument.Parse(handler.Last.Body);
        Assert.Equal(sent, body.RootElement.TryGetProperty("temperature", out _));
        Assert.Equal(256, body.RootElement.GetProperty("max_completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Chat_client_per_model_is_reused_across_calls()
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));
        var provider = Provider(handler);

        await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            provider.CompleteAsync(Request with { Model = i % 2 == 0 ? "gpt-4o-mini" : "o3-mini" }, CancellationToken.None)));

        Assert.Equal(20, handler.Calls);
    }

    [Fact]
    public async Task Unknown_role_is_an_invalid_request_without_any_call()
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));

        // "tool" is a known role since tool calls; "function" is OpenAI's retired one, not the contract's.
        var result = await Provider(handler).CompleteAsync(Request with { Messages = [new ChatMessage("function", "{}")] }, CancellationToken.None);

        var failure = Assert.IsType<ProviderFailure>(result);
        Assert.Equal(ErrorClass.InvalidRequest, failure.Class);
        Assert.Contains("'function'", failure.Detail);
        Assert.Equal(0, handler.Calls);
    }

    [Fact]
    public async Task Rate_limit_is_rate_limited_with_Retry_After_seconds_and_one_call()
    {
        var handler = new StubHandler(() => JsonResponse(429,
            Error("Rate limit reached for gpt-4o-mini in organization org-abc on requests per min (RPM): Limit 3, Used 3, Requested 1.", "requests", "rate_limit_exceeded"),
            ("retry-after", "20")));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.RateLimited, failure.Class);
        Assert.Equal(429, failure.HttpStatus);
        Assert.Equal(TimeSpan.FromSeconds(20), failure.RetryAfter);
        Assert.Contains("rate_limit_exceeded", failure.Detail);
    }

    [Fact]
    public async Task Rate_limit_prefers_retry_after_ms()
    {
        var handler = new StubHandler(() => JsonResponse(429, Error("Rate limit reached.", "tokens", "rate_limit_exceeded"),
            ("retry-after", "2"), ("retry-after-ms", "1500")));

        Assert.Equal(TimeSpan.FromMilliseconds(1500), (await Failure(handler)).RetryAfter);
    }

    [Fact]
    public async Task Rate_limit_reads_an_http_date_Retry_After_against_the_injected_clock()
    {
        var now = new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero);
        var handler = new StubHandler(() => JsonResponse(429, Error("Slow down.", null, null),
            ("Retry-After", now.AddSeconds(30).ToString("r", CultureInfo.InvariantCulture))));

        var result = await Provider(handler, time: new FixedClock(now)).CompleteAsync(Request, CancellationToken.None);

        Assert.Equal(TimeSpan.FromSeconds(30), Assert.IsType<ProviderFailure>(result).RetryAfter);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(504)]
    [InlineData(529)]
    public async Task Server_errors_are_server_and_not_retried_by_the_sdk(int status)
    {
        var handler = new StubHandler(() => JsonResponse(status, Error("The server had an error while processing your request. Sorry about that!", "server_error", null)));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.Server, failure.Class);
        Assert.Equal(status, failure.HttpStatus);
    }

    [Theory]
    [InlineData(401, "invalid_api_key")]
    [InlineData(403, "unsupported_country_region_territory")]
    public async Task Unauthorized_and_forbidden_are_auth(int status, string code)
    {
        var handler = new StubHandler(() => JsonResponse(status, Error("Incorrect API key provided: sk-proj-********************************abcd. You can find your API key at https://platform.openai.com/account/api-keys.", "invalid_request_error", code)));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.Auth, failure.Class);
        // Even OpenAI's masked echo of a key is kept out of the detail.
        Assert.DoesNotContain("sk-proj", failure.Detail);
    }

    [Theory]
    [InlineData(400, "invalid_request_error", "context_length_exceeded")]
    [InlineData(404, "invalid_request_error", "model_not_found")]
    [InlineData(422, "invalid_request_error", null)]
    public async Task Other_client_errors_are_invalid_request(int status, string type, string? code)
    {
        var handler = new StubHandler(() => JsonResponse(status, Error("This model's maximum context length is 128000 tokens.", type, code)));

        Assert.Equal(ErrorClass.InvalidRequest, (await Failure(handler)).Class);
    }

    [Theory]
    [InlineData("content_filter")]
    [InlineData("content_policy_violation")]
    public async Task Content_policy_400_is_content_blocked(string code)
    {
        var handler = new StubHandler(() => JsonResponse(400, Error("The response was filtered due to the prompt triggering content management policy.", "invalid_request_error", code)));

        Assert.Equal(ErrorClass.ContentBlocked, (await Failure(handler)).Class);
    }

    [Fact]
    public async Task Error_bodies_of_compatible_servers_are_read_loosely()
    {
        // vLLM: fields at the top level and a numeric code.
        var handler = new StubHandler(() => JsonResponse(404, """{"object":"error","message":"The model `llama-9` does not exist.","type":"NotFoundError","param":null,"code":404}"""));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.InvalidRequest, failure.Class);
        Assert.Contains("does not exist", failure.Detail);
    }

    [Fact]
    public async Task Finish_reason_content_filter_is_content_blocked()
    {
        var handler = new StubHandler(() => JsonResponse(200, Choice("null", "content_filter")));

        Assert.Equal(ErrorClass.ContentBlocked, (await Failure(handler)).Class);
    }

    [Fact]
    public async Task Refusal_is_content_blocked()
    {
        var handler = new StubHandler(() => JsonResponse(200, """
            {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-2024-08-06",
             "choices":[{"index":0,"message":{"role":"assistant","content":null,"refusal":"I'm sorry, I can't help with that."},"finish_reason":"stop"}]}
            """));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.ContentBlocked, failure.Class);
        Assert.Contains("refused", failure.Detail);
    }

    [Fact]
    public async Task Length_with_empty_content_is_bad_output()
    {
        var handler = new StubHandler(() => JsonResponse(200, Choice("\"\"", "length")));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.BadOutput, failure.Class);
        Assert.Contains("truncated before any text", failure.Detail);
    }

    [Fact]
    public async Task Length_with_content_is_a_truncated_success()
    {
        var handler = new StubHandler(() => JsonResponse(200, Choice("\"Once upon a\"", "length")));

        var success = Assert.IsType<ProviderSuccess>(await Provider(handler).CompleteAsync(Request, CancellationToken.None));

        Assert.Equal("Once upon a", success.Text);
        Assert.Equal("length", success.FinishReason);
    }

    [Theory]
    [InlineData("eos")]
    [InlineData("end")]
    public async Task Finish_reason_unknown_to_the_sdk_still_yields_the_answer(string finishReason)
    {
        // The SDK's typed model throws on these (openai-dotnet#342); compatible servers send them.
        var handler = new StubHandler(() => JsonResponse(200, Choice("\"Hi there\"", finishReason)));

        var success = Assert.IsType<ProviderSuccess>(await Provider(handler).CompleteAsync(Request, CancellationToken.None));

        Assert.Equal("Hi there", success.Text);
        Assert.Equal(finishReason, success.FinishReason);
    }

    [Fact]
    public async Task Content_as_an_array_of_text_parts_is_joined()
    {
        var handler = new StubHandler(() => JsonResponse(200, Choice("""[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]""", "stop")));

        Assert.Equal("Hi there", Assert.IsType<ProviderSuccess>(await Provider(handler).CompleteAsync(Request, CancellationToken.None)).Text);
    }

    [Theory]
    [InlineData("""{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[]}""", "no choices")]
    [InlineData("""{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini"}""", "no choices")]
    [InlineData("""{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":null},"finish_reason":"stop"}]}""", "no content")]
    [InlineData("""{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"  "},"finish_reason":"stop"}]}""", "no content")]
    [InlineData("""{"id":"chatcmpl-1","choices":[{""", "not valid")]
    [InlineData("<html>oops</html>", "not valid")]
    public async Task Unusable_2xx_bodies_are_bad_output(string body, string expected)
    {
        var handler = new StubHandler(() => JsonResponse(200, body));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.BadOutput, failure.Class);
        Assert.Contains(expected, failure.Detail);
    }

    [Fact]
    public async Task Connection_refused_is_network()
    {
        // The SDK wraps it: ClientResultException with Status 0 around the HttpRequestException.
        var handler = new StubHandler((_, _) => throw new HttpRequestException(
            HttpRequestError.ConnectionError, "Connection refused (openai.test:443)", new SocketException((int)SocketError.ConnectionRefused)));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.Network, failure.Class);
        Assert.Contains("Connection refused", failure.Detail);
    }

    [Fact]
    public async Task Body_cut_short_is_network()
    {
        // The SDK lets a bare IOException through unwrapped.
        var handler = new StubHandler((_, _) => throw new IOException("The response ended prematurely."));

        Assert.Equal(ErrorClass.Network, (await Failure(handler)).Class);
    }

    [Fact]
    public async Task Sdk_network_timeout_is_a_timeout_failure_not_an_exception()
    {
        var handler = new StubHandler(Hang);

        var result = await Provider(handler, timeout: TimeSpan.FromMilliseconds(100)).CompleteAsync(Request, CancellationToken.None);

        Assert.Equal(ErrorClass.Timeout, Assert.IsType<ProviderFailure>(result).Class);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public async Task Caller_cancellation_during_the_call_throws()
    {
        var handler = new StubHandler(Hang);
        using var caller = new CancellationTokenSource();

        var call = Provider(handler).CompleteAsync(Request, caller.Token);
        await handler.Called;
        await caller.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public async Task Already_cancelled_caller_costs_no_call()
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Provider(handler).CompleteAsync(Request, new CancellationToken(true)));
        Assert.Equal(0, handler.Calls);
    }

    [Fact]
    public async Task Key_echoed_by_the_server_never_reaches_the_detail()
    {
        var handler = new StubHandler((request, _) =>
        {
            var echo = $"Authorization: {request.Headers.Authorization} for {request.RequestUri}";
            return Task.FromResult(JsonResponse(400, Error(echo, "invalid_request_error", null)));
        });

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.InvalidRequest, failure.Class);
        Assert.Contains("[redacted]", failure.Detail);
    }

    [Fact]
    public async Task Key_echoed_in_a_non_json_body_never_reaches_the_detail()
    {
        var handler = new StubHandler(() => JsonResponse(502, $"<html>bad gateway; Authorization: Bearer {Key}</html>"));

        Assert.Equal(ErrorClass.Server, (await Failure(handler)).Class);
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
