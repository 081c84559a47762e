using System.Net;
using System.Text.Json.Nodes;
using Worker.Simulator.Faults;

namespace Worker.Tests.Simulator;

/// <summary>The tool-call and JSON faults on each wire: what a client that validates tool calls and JSON must survive.</summary>
public sealed class StructuredFaultTests
{
    private static async Task<JsonNode> AnswerAsync(string fault, Func<RunningSimulator, Task<HttpResponseMessage>> call, string target)
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile(target, FaultProfile.AlwaysFail(fault));
        using var response = await call(sim);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var counters = sim.State.GetCounters(target);
        Assert.Equal(1, counters.ByFault[FaultNames.Parse(fault)]);
        Assert.Equal(0, counters.Succeeded);
        return await response.ReadJsonAsync();
    }

    private static Task<JsonNode> OpenAIAsync(string fault, JsonObject body) => AnswerAsync(fault, sim => sim.OpenAIAsync("openai", body), "openai");

    private static Task<JsonNode> GeminiAsync(string fault, JsonObject body) => AnswerAsync(fault, sim => sim.GeminiAsync("gemini", body), "gemini");

    private static Task<JsonNode> AnthropicAsync(string fault, JsonObject body) => AnswerAsync(fault, sim => sim.AnthropicAsync("anthropic", body), "anthropic");

    private static JsonObject AnthropicTools()
    {
        var body = RunningSimulator.AnthropicBody("Weather in Paris?");
        body["tools"] = new JsonArray(new JsonObject { ["name"] = "get_weather", ["input_schema"] = ToolSchemas.Weather() });
        body["tool_choice"] = new JsonObject { ["type"] = "tool", ["name"] = "get_weather" };
        return body;
    }

    private static JsonObject AnthropicJson()
    {
        var body = RunningSimulator.AnthropicBody();
        body["output_config"] = new JsonObject { ["format"] = new JsonObject { ["type"] = "json_schema", ["schema"] = ToolSchemas.Weather() } };
        return body;
    }

    // OpenAI

    [Theory]
    [InlineData("malformed_tool_call", "tool_calls")]
    [InlineData("invalid_json", "tool_calls")]
    [InlineData("truncated_json", "length")]
    public async Task OpenAI_tool_call_arguments_that_do_not_parse(string fault, string finishReason)
    {
        var choice = (await OpenAIAsync(fault, OpenAIToolTests.WithTools()))["choices"]![0]!;

        Assert.Equal(finishReason, (string?)choice["finish_reason"]);
        var function = choice["message"]!["tool_calls"]![0]!["function"]!;
        Assert.Equal("get_weather", (string?)function["name"]);
        Assert.Null(ToolSchemas.TryParse((string?)function["arguments"]));
        Assert.StartsWith("{\"city\"", (string?)function["arguments"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAI_bad_tool_call_calls_a_tool_that_was_not_offered()
    {
        var choice = (await OpenAIAsync("bad_tool_call", OpenAIToolTests.WithTools()))["choices"]![0]!;

        Assert.Equal("tool_calls", (string?)choice["finish_reason"]);
        Assert.Equal("unknown_tool", (string?)choice["message"]!["tool_calls"]![0]!["function"]!["name"]);
    }

    [Fact]
    public async Task OpenAI_schema_mismatch_arguments_parse_but_miss_a_required_property()
    {
        var function = (await OpenAIAsync("schema_mismatch", OpenAIToolTests.WithTools()))["choices"]![0]!["message"]!["tool_calls"]![0]!["function"]!;

        var arguments = ToolSchemas.TryParse((string?)function["arguments"])!.AsObject();
        Assert.False(arguments.ContainsKey("city"));
        Assert.True(arguments.ContainsKey("days"));
    }

    [Theory]
    [InlineData("invalid_json", "stop")]
    [InlineData("truncated_json", "length")]
    public async Task OpenAI_json_answer_that_does_not_parse(string fault, string finishReason)
    {
        var choice = (await OpenAIAsync(fault, OpenAIToolTests.WithJsonSchema()))["choices"]![0]!;

        Assert.Equal(finishReason, (string?)choice["finish_reason"]);
        Assert.Null(ToolSchemas.TryParse((string?)choice["message"]!["content"]));
    }

    [Fact]
    public async Task OpenAI_schema_mismatch_json_parses_but_misses_a_required_property()
    {
        var content = (string?)(await OpenAIAsync("schema_mismatch", OpenAIToolTests.WithJsonSchema()))["choices"]![0]!["message"]!["content"];

        Assert.Equal("""{"tags":["sample"],"final":true}""", content);
    }

    [Theory]
    [InlineData("malformed_tool_call")]
    [InlineData("invalid_json")]
    [InlineData("schema_mismatch")]
    public async Task OpenAI_tool_and_json_faults_answer_a_plain_request_as_ok(string fault)
    {
        var choice = (await OpenAIAsync(fault, OpenAIToolTests.Body("Hi")))["choices"]![0]!;

        Assert.Equal("stop", (string?)choice["finish_reason"]);
        Assert.Equal("Simulated reply from openai/gpt-4o-mini to: Hi", (string?)choice["message"]!["content"]);
    }

    [Fact]
    public async Task OpenAI_truncated_json_cuts_a_plain_answer_with_length()
    {
        var choice = (await OpenAIAsync("truncated_json", OpenAIToolTests.Body("Hi")))["choices"]![0]!;

        Assert.Equal("length", (string?)choice["finish_reason"]);
        Assert.Equal("Simulated reply from op", (string?)choice["message"]!["content"]);
    }

    // Gemini

    [Theory]
    [InlineData("malformed_tool_call")]
    [InlineData("invalid_json")]
    public async Task Gemini_malformed_function_call_has_no_content(string fault)
    {
        var candidate = (await GeminiAsync(fault, GeminiToolTests.WithTools()))["candidates"]![0]!;

        Assert.Equal("MALFORMED_FUNCTION_CALL", (string?)candidate["finishReason"]);
        Assert.Null(candidate["content"]);
    }

    [Fact]
    public async Task Gemini_bad_tool_call_calls_a_function_that_was_not_declared()
    {
        var candidate = (await GeminiAsync("bad_tool_call", GeminiToolTests.WithTools()))["candidates"]![0]!;

        Assert.Equal("unknown_tool", (string?)candidate["content"]!["parts"]![0]!["functionCall"]!["name"]);
    }

    [Fact]
    public async Task Gemini_truncated_json_function_call_has_empty_args_and_max_tokens()
    {
        var candidate = (await GeminiAsync("truncated_json", GeminiToolTests.WithTools()))["candidates"]![0]!;

        Assert.Equal("MAX_TOKENS", (string?)candidate["finishReason"]);
        Assert.Equal("{}", candidate["content"]!["parts"]![0]!["functionCall"]!["args"]!.ToJsonString());
    }

    [Fact]
    public async Task Gemini_schema_mismatch_args_miss_a_required_property()
    {
        var call = (await GeminiAsync("schema_mismatch", GeminiToolTests.WithTools()))["candidates"]![0]!["content"]!["parts"]![0]!["functionCall"]!;

        Assert.Equal("""{"days":1,"units":"celsius"}""", call["args"]!.ToJsonString());
    }

    [Theory]
    [InlineData("invalid_json", "STOP")]
    [InlineData("truncated_json", "MAX_TOKENS")]
    public async Task Gemini_json_answer_that_does_not_parse(string fault, string finishReason)
    {
        var candidate = (await GeminiAsync(fault, GeminiToolTests.WithJsonSchema()))["candidates"]![0]!;

        Assert.Equal(finishReason, (string?)candidate["finishReason"]);
        Assert.Null(ToolSchemas.TryParse((string?)candidate["content"]!["parts"]![0]!["text"]));
    }

    [Fact]
    public async Task Gemini_schema_mismatch_json_misses_a_required_property()
    {
        var candidate = (await GeminiAsync("schema_mismatch", GeminiToolTests.WithJsonSchema()))["candidates"]![0]!;

        Assert.Equal("""{"days":1,"units":"celsius"}""", (string?)candidate["content"]!["parts"]![0]!["text"]);
    }

    // Anthropic

    [Fact]
    public async Task Anthropic_malformed_tool_call_input_lacks_every_required_property()
    {
        var body = await AnthropicAsync("malformed_tool_call", AnthropicTools());

        Assert.Equal("tool_use", (string?)body["stop_reason"]);
        Assert.Equal("""{"units":"celsius"}""", body["content"]![0]!["input"]!.ToJsonString());
    }

    [Fact]
    public async Task Anthropic_bad_tool_call_uses_a_tool_that_was_not_offered()
    {
        var body = await AnthropicAsync("bad_tool_call", AnthropicTools());

        Assert.Equal("tool_use", (string?)body["stop_reason"]);
        Assert.Equal("unknown_tool", (string?)body["content"]![0]!["name"]);
    }

    [Fact]
    public async Task Anthropic_invalid_json_answers_prose_in_place_of_the_forced_tool()
    {
        var body = await AnthropicAsync("invalid_json", AnthropicTools());

        Assert.Equal("end_turn", (string?)body["stop_reason"]);
        var block = Assert.Single(body["content"]!.AsArray())!;
        Assert.Equal("text", (string?)block["type"]);
        Assert.Null(ToolSchemas.TryParse((string?)block["text"]));
    }

    [Fact]
    public async Task Anthropic_truncated_json_tool_use_has_empty_input_and_max_tokens()
    {
        var body = await AnthropicAsync("truncated_json", AnthropicTools());

        Assert.Equal("max_tokens", (string?)body["stop_reason"]);
        Assert.Equal("{}", body["content"]![0]!["input"]!.ToJsonString());
    }

    [Fact]
    public async Task Anthropic_schema_mismatch_input_misses_a_required_property()
    {
        var body = await AnthropicAsync("schema_mismatch", AnthropicTools());

        Assert.Equal("""{"days":1,"units":"celsius"}""", body["content"]![0]!["input"]!.ToJsonString());
    }

    [Fact]
    public async Task Anthropic_truncated_json_cuts_an_output_config_answer()
    {
        var body = await AnthropicAsync("truncated_json", AnthropicJson());

        Assert.Equal("max_tokens", (string?)body["stop_reason"]);
        Assert.Null(ToolSchemas.TryParse((string?)body["content"]![0]!["text"]));
    }
}
