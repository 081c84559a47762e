using System.Net;
using System.Text.Json.Nodes;
using Worker.Simulator.Faults;

namespace Worker.Tests.Simulator;

public sealed class AnthropicWireTests
{
    private static JsonObject WeatherTool() => new() { ["name"] = "get_weather", ["description"] = "Forecast", ["input_schema"] = ToolSchemas.Weather() };

    [Fact]
    public async Task Healthy_call_returns_a_message_with_one_text_block_and_usage()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.AnthropicAsync("anthropic", RunningSimulator.AnthropicBody());
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("req_", Assert.Single(response.Headers.GetValues("request-id")), StringComparison.Ordinal);
        Assert.StartsWith("msg_", (string?)body["id"], StringComparison.Ordinal);
        Assert.Equal("message", (string?)body["type"]);
        Assert.Equal("assistant", (string?)body["role"]);
        Assert.Equal("claude-sonnet-4-5", (string?)body["model"]);
        var block = Assert.Single(body["content"]!.AsArray())!;
        Assert.Equal("text", (string?)block["type"]);
        Assert.Equal("Simulated reply from anthropic/claude-sonnet-4-5 to: Hello there simulator", (string?)block["text"]);
        Assert.Equal("end_turn", (string?)body["stop_reason"]);
        Assert.True(body.AsObject().ContainsKey("stop_sequence"));
        Assert.Null(body["stop_sequence"]);
        // "Hello there simulator" + system "Be brief": 5 words in, 8 out.
        Assert.Equal(5, (int)body["usage"]!["input_tokens"]!);
        Assert.Equal(8, (int)body["usage"]!["output_tokens"]!);
        var recent = Assert.Single(sim.State.Recent("anthropic"));
        Assert.Equal("anthropic", recent.Format);
        Assert.Equal("Hello there simulator", recent.Prompt);
        Assert.Equal(1, sim.State.GetCounters("anthropic").Succeeded);
    }

    [Fact]
    public async Task System_as_text_blocks_and_content_as_blocks_are_read()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var body = RunningSimulator.AnthropicBody();
        body["system"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "Be very brief" });
        body["messages"] = new JsonArray(new JsonObject
        {
            ["role"] = "user",
            ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "Block prompt" }),
        });

        using var response = await sim.AnthropicAsync("anthropic", body);
        var json = await response.ReadJsonAsync();

        Assert.Equal("Simulated reply from anthropic/claude-sonnet-4-5 to: Block prompt", (string?)json["content"]![0]!["text"]);
        Assert.Equal(5, (int)json["usage"]!["input_tokens"]!);
    }

    [Fact]
    public async Task Bearer_token_is_accepted_in_place_of_x_api_key()
    {
        await using var sim = await RunningSimulator.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "anthropic/v1/messages") { Content = System.Net.Http.Json.JsonContent.Create(RunningSimulator.AnthropicBody()) };
        request.Headers.Authorization = new("Bearer", "token");
        request.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await sim.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Missing_key_is_401_authentication_error_and_counted()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.AnthropicAsync("anthropic", RunningSimulator.AnthropicBody(), key: null);
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("error", (string?)body["type"]);
        Assert.Equal("authentication_error", (string?)body["error"]!["type"]);
        Assert.Equal(1, sim.State.GetCounters("anthropic").ByFault[Fault.Unauthorized]);
        Assert.Equal(1, sim.State.GetCounters("anthropic").ByModel["claude-sonnet-4-5"]);
    }

    [Fact]
    public async Task Missing_anthropic_version_header_is_400()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.AnthropicAsync("anthropic", RunningSimulator.AnthropicBody(), version: null);
        var error = (await response.ReadJsonAsync())["error"]!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.Contains("anthropic-version", (string?)error["message"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"hi"}]}""", "max_tokens: Field required")]
    [InlineData("""{"max_tokens":10,"messages":[{"role":"user","content":"hi"}]}""", "model: Field required")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[]}""", "messages: at least one message is required")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"assistant","content":"hi"}]}""", "first message must use the \"user\" role")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"a"},{"role":"user","content":"b"}]}""", "roles must alternate")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"system","content":"a"}]}""", "messages.0.role")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"a"}],"tools":[{"name":"t"}]}""", "tools.0.input_schema: Field required")]
    [InlineData("""{"model":"m","max_tokens":10,"messages":[{"role":"user","content":"a"}""", "not valid JSON")]
    public async Task Invalid_requests_are_400_invalid_request_error_naming_the_problem(string json, string expected)
    {
        await using var sim = await RunningSimulator.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "anthropic/v1/messages") { Content = new StringContent(json) };
        request.Headers.Add("x-api-key", "k");
        request.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await sim.Http.SendAsync(request);
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("error", (string?)body["type"]);
        Assert.Equal("invalid_request_error", (string?)body["error"]!["type"]);
        Assert.Contains(expected, (string?)body["error"]!["message"], StringComparison.Ordinal);
        Assert.Equal(1, sim.State.GetCounters("anthropic").ByFault[Fault.BadRequest]);
    }

    [Fact]
    public async Task Forced_tool_is_answered_with_a_tool_use_of_its_schema_sample()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var body = RunningSimulator.AnthropicBody("Weather in Paris?");
        body["tools"] = new JsonArray(new JsonObject { ["name"] = "other", ["input_schema"] = new JsonObject { ["type"] = "object" } }, WeatherTool());
        body["tool_choice"] = new JsonObject { ["type"] = "tool", ["name"] = "get_weather" };

        using var response = await sim.AnthropicAsync("anthropic", body);
        var json = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("tool_use", (string?)json["stop_reason"]);
        var block = Assert.Single(json["content"]!.AsArray())!;
        Assert.Equal("tool_use", (string?)block["type"]);
        Assert.StartsWith("toolu_", (string?)block["id"], StringComparison.Ordinal);
        Assert.Equal("get_weather", (string?)block["name"]);
        Assert.Equal(ToolSchemas.WeatherSample, block["input"]!.ToJsonString());
    }

    [Theory]
    [InlineData("auto")]
    [InlineData("any")]
    public async Task Without_a_forced_tool_the_first_tool_is_called(string choice)
    {
        await using var sim = await RunningSimulator.StartAsync();
        var body = RunningSimulator.AnthropicBody();
        body["tools"] = new JsonArray(WeatherTool(), new JsonObject { ["name"] = "other", ["input_schema"] = new JsonObject { ["type"] = "object" } });
        body["tool_choice"] = new JsonObject { ["type"] = choice };

        using var response = await sim.AnthropicAsync("anthropic", body);
        var json = await response.ReadJsonAsync();

        Assert.Equal("get_weather", (string?)json["content"]![0]!["name"]);
    }

    [Fact]
    public async Task Tool_choice_none_is_answered_with_text()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var body = RunningSimulator.AnthropicBody();
        body["tools"] = new JsonArray(WeatherTool());
        body["tool_choice"] = new JsonObject { ["type"] = "none" };

        using var response = await sim.AnthropicAsync("anthropic", body);
        var json = await response.ReadJsonAsync();

        Assert.Equal("end_turn", (string?)json["stop_reason"]);
        Assert.Equal("text", (string?)json["content"]![0]!["type"]);
    }

    [Fact]
    public async Task Tool_result_round_trip_is_answered_with_text_and_counted_under_the_question()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var first = RunningSimulator.AnthropicBody("Weather in Paris?");
        first["tools"] = new JsonArray(WeatherTool());
        using var call = await sim.AnthropicAsync("anthropic", first);
        var toolUse = (await call.ReadJsonAsync())["content"]![0]!;

        var second = RunningSimulator.AnthropicBody("Weather in Paris?");
        second["tools"] = new JsonArray(WeatherTool());
        second["messages"]!.AsArray().Add(new JsonObject { ["role"] = "assistant", ["content"] = new JsonArray(toolUse.DeepClone()) });
        second["messages"]!.AsArray().Add(new JsonObject
        {
            ["role"] = "user",
            ["content"] = new JsonArray(new JsonObject
            {
                ["type"] = "tool_result",
                ["tool_use_id"] = (string?)toolUse["id"],
                ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = "sunny" }),
            }),
        });
        using var answer = await sim.AnthropicAsync("anthropic", second);
        var json = await answer.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Equal("end_turn", (string?)json["stop_reason"]);
        Assert.Equal("Simulated reply from anthropic/claude-sonnet-4-5 to: Weather in Paris?", (string?)json["content"]![0]!["text"]);
        Assert.Equal(2, sim.State.CallsByPrompt("anthropic")["Weather in Paris?"].Succeeded);
    }

    [Fact]
    public async Task Tool_result_that_answers_no_tool_use_of_the_previous_message_is_400()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var body = RunningSimulator.AnthropicBody("Weather?");
        body["messages"]!.AsArray().Add(new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = new JsonArray(new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_1", ["name"] = "get_weather", ["input"] = new JsonObject() }),
        });
        body["messages"]!.AsArray().Add(new JsonObject
        {
            ["role"] = "user",
            ["content"] = new JsonArray(new JsonObject { ["type"] = "tool_result", ["tool_use_id"] = "toolu_other", ["content"] = "sunny" }),
        });

        using var response = await sim.AnthropicAsync("anthropic", body);
        var error = (await response.ReadJsonAsync())["error"]!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.Contains("unexpected `tool_use_id` found in `tool_result` blocks: toolu_other", (string?)error["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tool_use_not_answered_by_the_next_message_is_400()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var body = RunningSimulator.AnthropicBody("Weather?");
        body["messages"]!.AsArray().Add(new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = new JsonArray(new JsonObject { ["type"] = "tool_use", ["id"] = "toolu_1", ["name"] = "get_weather", ["input"] = new JsonObject() }),
        });
        body["messages"]!.AsArray().Add(new JsonObject { ["role"] = "user", ["content"] = "never mind" });

        using var response = await sim.AnthropicAsync("anthropic", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("`tool_use` ids were found without `tool_result` blocks immediately after: toolu_1",
            (string?)(await response.ReadJsonAsync())["error"]!["message"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Output_config_json_schema_is_answered_with_its_sample()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var body = RunningSimulator.AnthropicBody();
        body["output_config"] = new JsonObject { ["format"] = new JsonObject { ["type"] = "json_schema", ["schema"] = ToolSchemas.Rating() } };

        using var response = await sim.AnthropicAsync("anthropic", body);
        var json = await response.ReadJsonAsync();

        Assert.Equal(ToolSchemas.RatingSample, (string?)json["content"]![0]!["text"]);
        Assert.Equal("end_turn", (string?)json["stop_reason"]);
    }

    [Theory]
    [InlineData("400", 400, "invalid_request_error")]
    [InlineData("401", 401, "authentication_error")]
    [InlineData("bad_key", 401, "authentication_error")]
    [InlineData("403", 403, "permission_error")]
    [InlineData("404", 404, "not_found_error")]
    [InlineData("429", 429, "rate_limit_error")]
    [InlineData("quota_day", 429, "rate_limit_error")]
    [InlineData("500", 500, "api_error")]
    [InlineData("echo", 500, "api_error")]
    [InlineData("502", 502, "api_error")]
    [InlineData("503", 529, "overloaded_error")]
    [InlineData("504", 504, "timeout_error")]
    public async Task Error_faults_answer_in_anthropic_error_shape(string fault, int status, string type)
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("anthropic", FaultProfile.AlwaysFail(fault));

        using var response = await sim.AnthropicAsync("anthropic", RunningSimulator.AnthropicBody());
        var body = await response.ReadJsonAsync();

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("error", (string?)body["type"]);
        Assert.Equal(type, (string?)body["error"]!["type"]);
        Assert.False(string.IsNullOrEmpty((string?)body["error"]!["message"]));
        Assert.StartsWith("req_", (string?)body["request_id"], StringComparison.Ordinal);
        Assert.Equal(1, sim.State.GetCounters("anthropic").ByFault[FaultNames.Parse(fault)]);
    }

    [Fact]
    public async Task Rate_limit_sends_retry_after_but_the_spent_quota_does_not()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("anthropic", new FaultProfile { Script = ["429", "quota_day"], RetryAfterSeconds = 4 });

        using var limited = await sim.AnthropicAsync("anthropic", RunningSimulator.AnthropicBody());
        using var spent = await sim.AnthropicAsync("anthropic", RunningSimulator.AnthropicBody());

        Assert.Equal(TimeSpan.FromSeconds(4), limited.Headers.RetryAfter?.Delta);
        Assert.Null(spent.Headers.RetryAfter);
        Assert.Equal("enforced_spend_limit_reached", (string?)(await spent.ReadJsonAsync())["error"]!["details"]!["error_code"]);
    }

    [Fact]
    public async Task Echo_fault_repeats_the_request_headers_key_included()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("anthropic", FaultProfile.AlwaysFail("echo"));

        using var response = await sim.AnthropicAsync("anthropic", RunningSimulator.AnthropicBody(), key: "sk-ant-secret-123");

        Assert.Contains("sk-ant-secret-123", (string?)(await response.ReadJsonAsync())["error"]!["message"], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("safety", "refusal", 1)]
    [InlineData("prompt_blocked", "refusal", 0)]
    [InlineData("max_tokens", "max_tokens", 0)]
    [InlineData("empty", "end_turn", 0)]
    public async Task Answer_faults_set_stop_reason_and_content(string fault, string stopReason, int blocks)
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("anthropic", FaultProfile.AlwaysFail(fault));

        using var response = await sim.AnthropicAsync("anthropic", RunningSimulator.AnthropicBody());
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(stopReason, (string?)body["stop_reason"]);
        Assert.Equal(blocks, body["content"]!.AsArray().Count);
    }

    [Fact]
    public async Task Max_tokens_fault_reports_the_whole_budget_as_output()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("anthropic", FaultProfile.AlwaysFail("max_tokens"));

        using var response = await sim.AnthropicAsync("anthropic", RunningSimulator.AnthropicBody());

        Assert.Equal(256, (int)(await response.ReadJsonAsync())["usage"]!["output_tokens"]!);
    }

    [Fact]
    public async Task Malformed_fault_returns_200_with_truncated_json()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("anthropic", FaultProfile.AlwaysFail("malformed"));

        using var response = await sim.AnthropicAsync("anthropic", RunningSimulator.AnthropicBody());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(ToolSchemas.TryParse(await response.Content.ReadAsStringAsync()));
    }

    [Fact]
    public async Task Reset_drops_the_connection()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("anthropic", FaultProfile.AlwaysFail("reset"));

        await Assert.ThrowsAsync<HttpRequestException>(() => sim.AnthropicAsync("anthropic", RunningSimulator.AnthropicBody()));
    }

    [Fact]
    public async Task Per_minute_limits_send_anthropic_rate_limit_headers()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("anthropic", new FaultProfile { RequestsPerMinute = 5 });

        using var response = await sim.AnthropicAsync("anthropic", RunningSimulator.AnthropicBody());

        Assert.Equal("5", Assert.Single(response.Headers.GetValues("anthropic-ratelimit-requests-limit")));
        Assert.Equal("4", Assert.Single(response.Headers.GetValues("anthropic-ratelimit-requests-remaining")));
    }
}
