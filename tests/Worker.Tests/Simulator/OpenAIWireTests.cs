using System.Net;
using Worker.Simulator.Faults;

namespace Worker.Tests.Simulator;

public sealed class OpenAIWireTests
{
    [Fact]
    public async Task Healthy_call_returns_chat_completion_with_usage()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.OpenAIAsync("openai", "Hello there simulator");
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("chatcmpl-", (string?)body["id"], StringComparison.Ordinal);
        Assert.Equal("chat.completion", (string?)body["object"]);
        Assert.Equal("gpt-4o-mini", (string?)body["model"]);
        Assert.True((long)body["created"]! > 1_700_000_000);
        var choice = body["choices"]![0]!;
        Assert.Equal("stop", (string?)choice["finish_reason"]);
        Assert.Equal("assistant", (string?)choice["message"]!["role"]);
        Assert.Equal("Simulated reply from openai/gpt-4o-mini to: Hello there simulator", (string?)choice["message"]!["content"]);
        Assert.True(choice["message"]!.AsObject().ContainsKey("refusal"));
        Assert.Null(choice["message"]!["refusal"]);
        var usage = body["usage"]!;
        Assert.Equal(5, (int)usage["prompt_tokens"]!);
        Assert.Equal(8, (int)usage["completion_tokens"]!);
        Assert.Equal(13, (int)usage["total_tokens"]!);
        Assert.Equal(0, (int)usage["completion_tokens_details"]!["reasoning_tokens"]!);
        Assert.Equal("fp_sim", (string?)body["system_fingerprint"]);
    }

    [Fact]
    public async Task Missing_bearer_key_is_401_invalid_api_key()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.OpenAIAsync("openai", key: null);
        var error = (await response.ReadJsonAsync())["error"]!;

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.Equal("invalid_api_key", (string?)error["code"]);
        Assert.True(error.AsObject().ContainsKey("param"));
        Assert.Equal(1, sim.State.GetCounters("openai").ByFault[Fault.Unauthorized]);
    }

    [Theory]
    [InlineData("""{"model":"gpt-4o-mini"}""", "messages")]
    [InlineData("""{"model":"gpt-4o-mini","messages":[]}""", "messages")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""", null)]
    public async Task Missing_model_or_messages_is_400_invalid_request(string json, string? param)
    {
        await using var sim = await RunningSimulator.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "openai/v1/chat/completions") { Content = new StringContent(json) };
        request.Headers.Authorization = new("Bearer", "sk");

        using var response = await sim.Http.SendAsync(request);
        var error = (await response.ReadJsonAsync())["error"]!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.Equal(param, (string?)error["param"]);
    }

    [Fact]
    public async Task Rate_limit_sends_retry_after_headers_and_rate_limit_code()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("openai", new FaultProfile { Always = "429", RetryAfterSeconds = 3 });

        using var response = await sim.OpenAIAsync("openai");
        var error = (await response.ReadJsonAsync())["error"]!;

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(3), response.Headers.RetryAfter?.Delta);
        Assert.Equal("3000", Assert.Single(response.Headers.GetValues("retry-after-ms")));
        Assert.Equal("rate_limit_exceeded", (string?)error["code"]);
    }

    [Fact]
    public async Task Safety_fault_finishes_with_content_filter_and_null_content()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("openai", FaultProfile.AlwaysFail("safety"));

        using var response = await sim.OpenAIAsync("openai");
        var choice = (await response.ReadJsonAsync())["choices"]![0]!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("content_filter", (string?)choice["finish_reason"]);
        Assert.True(choice["message"]!.AsObject().ContainsKey("content"));
        Assert.Null(choice["message"]!["content"]);
    }

    [Fact]
    public async Task Empty_fault_returns_no_choices()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("openai", FaultProfile.AlwaysFail("empty"));

        using var response = await sim.OpenAIAsync("openai");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty((await response.ReadJsonAsync())["choices"]!.AsArray());
    }

    [Fact]
    public async Task Max_tokens_fault_finishes_with_length_and_empty_content()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("openai", FaultProfile.AlwaysFail("max_tokens"));

        using var response = await sim.OpenAIAsync("openai");
        var choice = (await response.ReadJsonAsync())["choices"]![0]!;

        Assert.Equal("length", (string?)choice["finish_reason"]);
        Assert.Equal("", (string?)choice["message"]!["content"]);
    }

    [Fact]
    public async Task Prompt_blocked_fault_is_400_content_filter()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("openai", FaultProfile.AlwaysFail("prompt_blocked"));

        using var response = await sim.OpenAIAsync("openai");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("content_filter", (string?)(await response.ReadJsonAsync())["error"]!["code"]);
    }

    [Fact]
    public async Task Models_list_answers_in_openai_format()
    {
        await using var sim = await RunningSimulator.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Get, "openai/v1/models");
        request.Headers.Authorization = new("Bearer", "sk");

        using var response = await sim.Http.SendAsync(request);
        var body = await response.ReadJsonAsync();

        Assert.Equal("list", (string?)body["object"]);
        Assert.Contains(body["data"]!.AsArray(), m => (string?)m!["id"] == "gpt-4o-mini");
    }
}
