using Microsoft.Extensions.Time.Testing;
using System.Net.Sockets;
using System.Text.Json;
using Worker.Chain;
using Worker.Contracts;
using Worker.Providers;
using Worker.Providers.Gemini;
using static Worker.Tests.Providers.StubHandler;

namespace Worker.Tests.Providers;

public class GeminiProviderTests
{
    // Deliberately not shaped like a Google key, so redaction is proven for the exact key, not by pattern.
    private const string Key = "test-gemini-key-7f3a9c";

    private const string Answer = """
        {
          "candidates": [
            {
              "content": {
                "parts": [
                  { "text": "The user greets me; answer briefly.", "thought": true },
                  { "text": "Hello" },
                  { "text": ", world" }
                ],
                "role": "model"
              },
              "finishReason": "STOP",
              "index": 0,
              "safetyRatings": [ { "category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE" } ]
            }
          ],
          "usageMetadata": {
            "promptTokenCount": 12,
            "candidatesTokenCount": 5,
            "totalTokenCount": 40,
            "thoughtsTokenCount": 23,
            "promptTokensDetails": [ { "modality": "TEXT", "tokenCount": 12 } ]
          },
          "modelVersion": "gemini-2.5-flash-preview-05-20",
          "responseId": "mS2xaPz1Lq2r1MkP2f3z4Q"
        }
        """;

    private static readonly ProviderRequest Request = new(
        "gemini-2.5-flash",
        [
            new ChatMessage("system", "Be brief."),
            new ChatMessage("user", "Hi"),
            new ChatMessage("assistant", "Hello!"),
            new ChatMessage("user", "How are you?"),
        ],
        MaxOutputTokens: 256,
        Temperature: 0.2);

    private static GeminiProvider Provider(StubHandler handler, string baseUrl = "https://gemini.test", TimeSpan? timeout = null,
        TimeProvider? time = null) =>
        new("gemini",
            new ProviderOptions { Kind = ProviderKind.Gemini, BaseUrl = new Uri(baseUrl), ApiKey = Key, Timeout = timeout ?? TimeSpan.FromSeconds(30) },
            new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan },
            time ?? TimeProvider.System);

    private static async Task<ProviderFailure> Failure(StubHandler handler)
    {
        var result = await Provider(handler).CompleteAsync(Request, CancellationToken.None);
        var failure = Assert.IsType<ProviderFailure>(result);
        Assert.Equal(1, handler.Calls);
        Assert.DoesNotContain(Key, failure.Detail);
        return failure;
    }

    private static string Error(int code, string status, string message, string details = "[]") =>
        $$$"""{"error":{"code":{{{code}}},"message":"{{{message}}}","status":"{{{status}}}","details":{{{details}}}}}""";

    [Fact]
    public async Task Answer_maps_text_tokens_model_and_finish_reason_and_skips_thoughts()
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));

        var result = await Provider(handler).CompleteAsync(Request, CancellationToken.None);

        var success = Assert.IsType<ProviderSuccess>(result);
        Assert.Equal("Hello, world", success.Text);
        Assert.Equal("gemini-2.5-flash-preview-05-20", success.Model);
        Assert.Equal(12, success.InputTokens);
        Assert.Equal(5, success.OutputTokens);
        Assert.Equal("STOP", success.FinishReason);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public async Task Answer_without_modelVersion_or_usage_reports_the_requested_model()
    {
        var handler = new StubHandler(() => JsonResponse(200, """{"candidates":[{"content":{"parts":[{"text":"ok"}],"role":"model"},"finishReason":"STOP"}]}"""));

        var success = Assert.IsType<ProviderSuccess>(await Provider(handler).CompleteAsync(Request, CancellationToken.None));

        Assert.Equal("gemini-2.5-flash", success.Model);
        Assert.Null(success.InputTokens);
        Assert.Null(success.OutputTokens);
    }

    [Fact]
    public async Task Request_maps_system_to_systemInstruction_assistant_to_model_and_sets_generationConfig()
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));

        await Provider(handler).CompleteAsync(Request, CancellationToken.None);

        var sent = handler.Last;
        Assert.Equal(HttpMethod.Post, sent.Method);
        using var body = JsonDocument.Parse(sent.Body);
        var root = body.RootElement;
        Assert.Equal("Be brief.", root.GetProperty("systemInstruction").GetProperty("parts")[0].GetProperty("text").GetString());
        var contents = root.GetProperty("contents").EnumerateArray()
            .Select(c => (Role: c.GetProperty("role").GetString(), Text: c.GetProperty("parts")[0].GetProperty("text").GetString()))
            .ToList();
        Assert.Equal([("user", "Hi"), ("model", "Hello!"), ("user", "How are you?")], contents);
        Assert.Equal(256, root.GetProperty("generationConfig").GetProperty("maxOutputTokens").GetInt32());
        Assert.Equal(0.2, root.GetProperty("generationConfig").GetProperty("temperature").GetDouble());
    }

    [Fact]
    public async Task Request_without_limits_or_system_message_sends_neither_generationConfig_nor_systemInstruction()
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));

        await Provider(handler).CompleteAsync(new ProviderRequest("gemini-2.5-flash", [new ChatMessage("user", "Hi")], null, null), CancellationToken.None);

        using var body = JsonDocument.Parse(handler.Last.Body);
        Assert.False(body.RootElement.TryGetProperty("generationConfig", out _));
        Assert.False(body.RootElement.TryGetProperty("systemInstruction", out _));
    }

    [Theory]
    [InlineData("https://generativelanguage.googleapis.com", "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent")]
    [InlineData("https://generativelanguage.googleapis.com/", "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent")]
    [InlineData("http://127.0.0.1:5080/gemini", "http://127.0.0.1:5080/gemini/v1beta/models/gemini-2.5-flash:generateContent")]
    [InlineData("http://127.0.0.1:5080/gemini/", "http://127.0.0.1:5080/gemini/v1beta/models/gemini-2.5-flash:generateContent")]
    public async Task Request_url_joins_the_base_url_prefix_and_carries_the_key_only_in_the_header(string baseUrl, string expected)
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));

        await Provider(handler, baseUrl).CompleteAsync(Request, CancellationToken.None);

        Assert.Equal(expected, handler.Last.Uri.AbsoluteUri);
        Assert.Equal(Key, handler.Last.Headers["x-goog-api-key"]);
        Assert.DoesNotContain(Key, handler.Last.Uri.OriginalString);
        Assert.DoesNotContain(Key, handler.Last.Body);
    }

    [Fact]
    public async Task Request_accepts_the_models_prefix_on_the_model_name()
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));

        await Provider(handler).CompleteAsync(Request with { Model = "models/gemini-2.5-pro" }, CancellationToken.None);

        Assert.EndsWith("/v1beta/models/gemini-2.5-pro:generateContent", handler.Last.Uri.AbsoluteUri);
    }

    [Fact]
    public async Task Unknown_role_is_an_invalid_request_without_any_call()
    {
        var handler = new StubHandler(() => JsonResponse(200, Answer));

        var result = await Provider(handler).CompleteAsync(
            Request with { Messages = [new ChatMessage("function", "{}")] }, CancellationToken.None);

        var failure = Assert.IsType<ProviderFailure>(result);
        Assert.Equal(ErrorClass.InvalidRequest, failure.Class);
        Assert.Contains("'function'", failure.Detail);
        Assert.Equal(0, handler.Calls);
    }

    [Fact]
    public async Task Resource_exhausted_is_rate_limited_with_the_RetryInfo_delay()
    {
        var details = """
            [
              {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"},"quotaValue":"10"}]},
              {"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},
              {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}
            ]
            """;
        var handler = new StubHandler(() => JsonResponse(429, Error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", details)));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.RateLimited, failure.Class);
        Assert.Equal(429, failure.HttpStatus);
        Assert.Equal(TimeSpan.FromSeconds(1.5), failure.RetryAfter);
        Assert.Contains("RESOURCE_EXHAUSTED", failure.Detail);
    }

    [Fact]
    public async Task A_spent_per_day_quota_waits_until_midnight_pacific_whatever_its_short_retry_delay_says()
    {
        var details = """
            [
              {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerDayPerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"},"quotaValue":"250"}]},
              {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"21s"}
            ]
            """;
        var handler = new StubHandler(() => JsonResponse(429, Error(429, "RESOURCE_EXHAUSTED", "You exceeded your current quota.", details)));

        var before = DateTimeOffset.UtcNow;
        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.RateLimited, failure.Class);
        Assert.InRange(before + failure.RetryAfter!.Value, before + GeminiQuota.UntilDailyReset(before) - TimeSpan.FromSeconds(5),
            before + GeminiQuota.UntilDailyReset(before) + TimeSpan.FromSeconds(5));
        Assert.Contains("per-day quota GenerateRequestsPerDayPerProjectPerModel-FreeTier spent", failure.Detail);
    }

    [Theory]
    [InlineData("2026-11-30T20:00:00Z", 12.0)] // noon PST (UTC-8)
    [InlineData("2026-12-01T07:59:00Z", 1 / 60.0)] // a minute before midnight PST
    [InlineData("2026-07-01T06:30:00Z", 0.5)] // 23:30 PDT (UTC-7)
    public void Daily_quotas_reset_at_midnight_pacific_time(string now, double hours)
    {
        Assert.Equal(TimeSpan.FromHours(hours), GeminiQuota.UntilDailyReset(DateTimeOffset.Parse(now, System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public async Task Rate_limit_without_RetryInfo_falls_back_to_the_Retry_After_header()
    {
        var handler = new StubHandler(() => JsonResponse(429, Error(429, "RESOURCE_EXHAUSTED", "Quota exceeded."), ("Retry-After", "7")));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.RateLimited, failure.Class);
        Assert.Equal(TimeSpan.FromSeconds(7), failure.RetryAfter);
    }

    [Theory]
    [InlineData(500, "INTERNAL")]
    [InlineData(502, "UNAVAILABLE")]
    [InlineData(503, "UNAVAILABLE")]
    [InlineData(504, "DEADLINE_EXCEEDED")]
    public async Task Server_errors_are_server(int status, string grpcStatus)
    {
        var handler = new StubHandler(() => JsonResponse(status, Error(status, grpcStatus, "The model is overloaded. Please try again later.")));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.Server, failure.Class);
        Assert.Equal(status, failure.HttpStatus);
        Assert.Null(failure.RetryAfter);
    }

    [Fact]
    public async Task Html_error_page_from_a_proxy_is_still_classified_by_status()
    {
        var handler = new StubHandler(() => JsonResponse(502, "<html><body><h1>502 Bad Gateway</h1></body></html>"));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.Server, failure.Class);
        Assert.Contains("502 Bad Gateway", failure.Detail);
    }

    [Theory]
    [InlineData(401, "UNAUTHENTICATED")]
    [InlineData(403, "PERMISSION_DENIED")]
    public async Task Unauthenticated_and_forbidden_are_auth(int status, string grpcStatus)
    {
        var handler = new StubHandler(() => JsonResponse(status, Error(status, grpcStatus, "Method doesn't allow unregistered callers.")));

        Assert.Equal(ErrorClass.Auth, (await Failure(handler)).Class);
    }

    [Fact]
    public async Task Invalid_api_key_400_is_auth()
    {
        var details = """
            [
              {"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}},
              {"@type":"type.googleapis.com/google.rpc.LocalizedMessage","locale":"en-US","message":"API key not valid. Please pass a valid API key."}
            ]
            """;
        var handler = new StubHandler(() => JsonResponse(400, Error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.", details)));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.Auth, failure.Class);
        Assert.Equal(400, failure.HttpStatus);
    }

    [Theory]
    [InlineData(400, "INVALID_ARGUMENT", "Invalid JSON payload received. Unknown name \\\"foo\\\".")]
    [InlineData(404, "NOT_FOUND", "models/gemini-9 is not found for API version v1beta, or is not supported for generateContent.")]
    [InlineData(422, "FAILED_PRECONDITION", "User location is not supported for the API use.")]
    public async Task Other_client_errors_are_invalid_request(int status, string grpcStatus, string message)
    {
        var handler = new StubHandler(() => JsonResponse(status, Error(status, grpcStatus, message)));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.InvalidRequest, failure.Class);
        Assert.Contains(grpcStatus, failure.Detail);
    }

    [Fact]
    public async Task Blocked_prompt_is_content_blocked()
    {
        var handler = new StubHandler(() => JsonResponse(200, """
            {
              "promptFeedback": {
                "blockReason": "SAFETY",
                "safetyRatings": [ { "category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH", "blocked": true } ]
              },
              "usageMetadata": { "promptTokenCount": 9, "totalTokenCount": 9 },
              "modelVersion": "gemini-2.5-flash"
            }
            """));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.ContentBlocked, failure.Class);
        Assert.Contains("SAFETY", failure.Detail);
    }

    [Theory]
    [InlineData("SAFETY")]
    [InlineData("RECITATION")]
    [InlineData("BLOCKLIST")]
    [InlineData("PROHIBITED_CONTENT")]
    [InlineData("SPII")]
    public async Task Blocked_finish_reason_is_content_blocked(string finishReason)
    {
        var handler = new StubHandler(() => JsonResponse(200, $$"""
            {
              "candidates": [ { "finishReason": "{{finishReason}}", "index": 0,
                "safetyRatings": [ { "category": "HARM_CATEGORY_HATE_SPEECH", "probability": "MEDIUM", "blocked": true } ] } ],
              "usageMetadata": { "promptTokenCount": 9, "totalTokenCount": 9 },
              "modelVersion": "gemini-2.5-flash"
            }
            """));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.ContentBlocked, failure.Class);
        Assert.Contains(finishReason, failure.Detail);
    }

    [Fact]
    public async Task Max_tokens_with_text_is_a_truncated_success()
    {
        var handler = new StubHandler(() => JsonResponse(200, """
            {"candidates":[{"content":{"parts":[{"text":"Once upon a"}],"role":"model"},"finishReason":"MAX_TOKENS","index":0}],
             "usageMetadata":{"promptTokenCount":4,"candidatesTokenCount":3,"totalTokenCount":7},"modelVersion":"gemini-2.5-flash"}
            """));

        var success = Assert.IsType<ProviderSuccess>(await Provider(handler).CompleteAsync(Request, CancellationToken.None));

        Assert.Equal("Once upon a", success.Text);
        Assert.Equal("MAX_TOKENS", success.FinishReason);
    }

    [Fact]
    public async Task Max_tokens_without_text_is_bad_output()
    {
        // A thinking model that spent the whole budget thinking: no parts at all.
        var handler = new StubHandler(() => JsonResponse(200, """
            {"candidates":[{"content":{"role":"model"},"finishReason":"MAX_TOKENS","index":0}],
             "usageMetadata":{"promptTokenCount":9,"totalTokenCount":264,"thoughtsTokenCount":255},"modelVersion":"gemini-2.5-flash"}
            """));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.BadOutput, failure.Class);
        Assert.Contains("truncated before any text", failure.Detail);
    }

    [Theory]
    [InlineData("""{"candidates":[],"usageMetadata":{"promptTokenCount":3}}""", "no candidates")]
    [InlineData("""{"usageMetadata":{"promptTokenCount":3},"modelVersion":"gemini-2.5-flash"}""", "no candidates")]
    [InlineData("""{"candidates":[{"content":{"role":"model"},"finishReason":"STOP"}]}""", "no text")]
    [InlineData("""{"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"STOP"}]}""", "no text")]
    [InlineData("""{"candidates":[{"content":{"parts":[{"text":"only thinking","thought":true}],"role":"model"},"finishReason":"STOP"}]}""", "no text")]
    [InlineData("""{"candidates":[{"content":{"parts":[{"text":"Hel""", "not valid")]
    [InlineData("<html>Sign in to continue</html>", "not valid")]
    [InlineData("null", "empty")]
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
        var handler = new StubHandler((_, _) => throw new HttpRequestException(
            HttpRequestError.ConnectionError, "Connection refused (gemini.test:443)", new SocketException((int)SocketError.ConnectionRefused)));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.Network, failure.Class);
        Assert.Null(failure.HttpStatus);
        Assert.Contains("Connection refused", failure.Detail);
    }

    [Fact]
    public async Task Body_cut_short_is_network()
    {
        var handler = new StubHandler((_, _) => throw new IOException("The response ended prematurely."));

        Assert.Equal(ErrorClass.Network, (await Failure(handler)).Class);
    }

    [Fact]
    public async Task Own_timeout_is_a_timeout_failure_not_an_exception()
    {
        var handler = new StubHandler(Hang);
        var time = new FakeTimeProvider();

        var call = Provider(handler, timeout: TimeSpan.FromSeconds(30), time: time).CompleteAsync(Request, CancellationToken.None);
        await handler.Called;
        time.Advance(TimeSpan.FromSeconds(30));
        var result = await call;

        var failure = Assert.IsType<ProviderFailure>(result);
        Assert.Equal(ErrorClass.Timeout, failure.Class);
        Assert.Equal(1, handler.Calls);
    }

    [Fact]
    public async Task Handler_timeout_not_from_the_caller_is_a_timeout_failure()
    {
        // What HttpClient.Timeout throws: a TaskCanceledException wrapping a TimeoutException.
        var handler = new StubHandler((_, _) => throw new TaskCanceledException(
            "The request was canceled due to the configured HttpClient.Timeout of 30 seconds elapsing.", new TimeoutException()));

        Assert.Equal(ErrorClass.Timeout, (await Failure(handler)).Class);
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
    }

    [Fact]
    public async Task Caller_cancellation_wins_over_an_exception_raised_by_the_abort()
    {
        using var caller = new CancellationTokenSource();
        var handler = new StubHandler((_, _) =>
        {
            caller.Cancel();
            throw new IOException("The connection was aborted.");
        });

        var thrown = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => Provider(handler).CompleteAsync(Request, caller.Token));
        Assert.Equal(caller.Token, thrown.CancellationToken);
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
        // A misbehaving server (or proxy) that echoes the request, headers included.
        var handler = new StubHandler(async (request, ct) =>
        {
            var echo = $"x-goog-api-key: {request.Headers.GetValues("x-goog-api-key").Single()} url {request.RequestUri} body {await request.Content!.ReadAsStringAsync(ct)}";
            return JsonResponse(400, Error(400, "INVALID_ARGUMENT", JsonEncodedText.Encode(echo).ToString()));
        });

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.InvalidRequest, failure.Class);
        Assert.Contains("[redacted]", failure.Detail);
    }

    [Fact]
    public async Task Key_echoed_in_a_non_json_body_never_reaches_the_detail()
    {
        var handler = new StubHandler(() => JsonResponse(500, $"upstream said: bad key {Key} (x-goog-api-key)"));

        var failure = await Failure(handler);

        Assert.Equal(ErrorClass.Server, failure.Class);
    }
}
