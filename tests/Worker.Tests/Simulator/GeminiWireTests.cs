using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Worker.Simulator.Faults;

namespace Worker.Tests.Simulator;

public sealed class GeminiWireTests
{
    [Fact]
    public async Task Healthy_call_returns_deterministic_candidate_with_word_count_usage()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.GeminiAsync("gemini", "Hello there simulator");
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var candidate = body["candidates"]![0]!;
        var text = "Simulated reply from gemini/gemini-2.5-flash to: Hello there simulator";
        Assert.Equal(text, (string?)candidate["content"]!["parts"]![0]!["text"]);
        Assert.Equal("model", (string?)candidate["content"]!["role"]);
        Assert.Equal("STOP", (string?)candidate["finishReason"]);
        // Prompt: "Hello there simulator" + system "Be brief" = 5 words; reply: 8 words.
        Assert.Equal(5, (int)body["usageMetadata"]!["promptTokenCount"]!);
        Assert.Equal(8, (int)body["usageMetadata"]!["candidatesTokenCount"]!);
        Assert.Equal(13, (int)body["usageMetadata"]!["totalTokenCount"]!);
        Assert.Equal("gemini-2.5-flash", (string?)body["modelVersion"]);
        Assert.False(string.IsNullOrEmpty((string?)body["responseId"]));
        Assert.Equal(1, sim.State.GetCounters("gemini").Succeeded);
    }

    [Fact]
    public async Task Reply_quotes_only_the_first_80_characters_of_the_last_user_message()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var longPrompt = new string('a', 100);

        using var response = await sim.GeminiAsync("gemini", longPrompt);
        var body = await response.ReadJsonAsync();

        Assert.Equal($"Simulated reply from gemini/gemini-2.5-flash to: {new string('a', 80)}", (string?)body["candidates"]![0]!["content"]!["parts"]![0]!["text"]);
    }

    [Fact]
    public async Task Missing_key_is_403_permission_denied_and_still_counted()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.GeminiAsync("gemini", key: null);
        var error = (await response.ReadJsonAsync())["error"]!;

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal(403, (int)error["code"]!);
        Assert.Equal("PERMISSION_DENIED", (string?)error["status"]);
        Assert.Equal(1, sim.State.GetCounters("gemini").ByFault[Fault.Forbidden]);
    }

    [Fact]
    public async Task Key_in_query_string_is_accepted()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.Http.PostAsync(
            "gemini/v1beta/models/gemini-2.5-pro:generateContent?key=abc",
            new StringContent("""{"contents":[{"parts":[{"text":"hi"}]}]}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, sim.State.GetCounters("gemini").ByModel["gemini-2.5-pro"]);
    }

    [Theory]
    [InlineData("""{"contents":[]}""")]
    [InlineData("""{"generationConfig":{"maxOutputTokens":5}}""")]
    [InlineData("""{"contents":""")]
    public async Task Missing_empty_or_unparsable_contents_is_400_invalid_argument(string json)
    {
        await using var sim = await RunningSimulator.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "gemini/v1beta/models/gemini-2.5-flash:generateContent") { Content = new StringContent(json) };
        request.Headers.Add("x-goog-api-key", "k");

        using var response = await sim.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("INVALID_ARGUMENT", (string?)(await response.ReadJsonAsync())["error"]!["status"]);
    }

    [Fact]
    public async Task Other_model_action_is_404_not_found()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.Http.PostAsync("gemini/v1beta/models/gemini-2.5-flash:streamGenerateContent?key=k", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("NOT_FOUND", (string?)(await response.ReadJsonAsync())["error"]!["status"]);
    }

    [Fact]
    public async Task Rate_limit_puts_retry_delay_in_the_body_not_a_header()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("gemini", new FaultProfile { Always = "429", RetryAfterSeconds = 7 });

        using var response = await sim.GeminiAsync("gemini");
        var error = (await response.ReadJsonAsync())["error"]!;

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("RESOURCE_EXHAUSTED", (string?)error["status"]);
        var retryInfo = error["details"]!.AsArray().Single(d => (string?)d!["@type"] == "type.googleapis.com/google.rpc.RetryInfo");
        Assert.Equal("7s", (string?)retryInfo!["retryDelay"]);
        Assert.Null(response.Headers.RetryAfter);
    }

    [Theory]
    [InlineData("503", 503, "UNAVAILABLE")]
    [InlineData("500", 500, "INTERNAL")]
    [InlineData("504", 504, "DEADLINE_EXCEEDED")]
    [InlineData("401", 401, "UNAUTHENTICATED")]
    [InlineData("bad_key", 400, "INVALID_ARGUMENT")]
    public async Task Http_error_faults_carry_google_error_bodies(string fault, int status, string googleStatus)
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("gemini", FaultProfile.AlwaysFail(fault));

        using var response = await sim.GeminiAsync("gemini");
        var error = (await response.ReadJsonAsync())["error"]!;

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal(status, (int)error["code"]!);
        Assert.Equal(googleStatus, (string?)error["status"]);
        Assert.False(string.IsNullOrEmpty((string?)error["message"]));
    }

    [Fact]
    public async Task Safety_fault_returns_a_candidate_without_content_and_with_safety_ratings()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("gemini", FaultProfile.AlwaysFail("safety"));

        using var response = await sim.GeminiAsync("gemini");
        var candidate = (await response.ReadJsonAsync())["candidates"]![0]!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("SAFETY", (string?)candidate["finishReason"]);
        Assert.Null(candidate["content"]);
        Assert.Contains(candidate["safetyRatings"]!.AsArray(), r => (bool?)r!["blocked"] == true);
    }

    [Fact]
    public async Task Empty_fault_returns_200_with_no_candidates()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("gemini", FaultProfile.AlwaysFail("empty"));

        using var response = await sim.GeminiAsync("gemini");
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(body["candidates"]!.AsArray());
        Assert.NotNull(body["usageMetadata"]);
    }

    [Fact]
    public async Task Prompt_blocked_fault_returns_prompt_feedback_and_no_candidates()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("gemini", FaultProfile.AlwaysFail("prompt_blocked"));

        using var response = await sim.GeminiAsync("gemini");
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(body["candidates"]);
        Assert.Equal("SAFETY", (string?)body["promptFeedback"]!["blockReason"]);
    }

    [Fact]
    public async Task Max_tokens_fault_returns_MAX_TOKENS_without_text_parts()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("gemini", FaultProfile.AlwaysFail("max_tokens"));

        using var response = await sim.GeminiAsync("gemini");
        var body = await response.ReadJsonAsync();

        var candidate = body["candidates"]![0]!;
        Assert.Equal("MAX_TOKENS", (string?)candidate["finishReason"]);
        Assert.Null(candidate["content"]!["parts"]);
        Assert.Equal(256, (int)body["usageMetadata"]!["thoughtsTokenCount"]!);
    }

    [Fact]
    public async Task Malformed_fault_returns_200_json_content_type_with_unparsable_body()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("gemini", FaultProfile.AlwaysFail("malformed"));

        using var response = await sim.GeminiAsync("gemini");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("{\"candidates\"", text, StringComparison.Ordinal);
        Assert.ThrowsAny<JsonException>(() => JsonDocument.Parse(text));
    }

    [Fact]
    public async Task Models_list_answers_in_gemini_format()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.Http.GetAsync("gemini/v1beta/models?key=k");
        var models = (await response.ReadJsonAsync())["models"]!.AsArray();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(models, m => (string?)m!["name"] == "models/gemini-2.5-flash");
        Assert.Equal(1, sim.State.GetCounters("gemini").ByModel["(models)"]);
    }
}
