using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging.Abstractions;
using Worker.Contracts;
using Worker.Providers;
using Worker.Providers.OpenAI;
using static Worker.Tests.Providers.StubHandler;

namespace Worker.Tests.Providers;

/// <summary>Tools, tool choice, tool calls and JSON output over Chat Completions, without any preset.</summary>
public class OpenAIToolsTests
{
    private const string Key = "test-openai-key-7f3a90";

    private const string TextAnswer = """
        {"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"gpt-4o-mini",
         "choices":[{"index":0,"message":{"role":"assistant","content":"Hello"},"finish_reason":"stop"}],
         "usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}
        """;

    private static readonly ToolDefinition LookUpLead = new(
        "look_up_lead",
        "Finds a lead by e-mail.",
        JsonOf("""{"type":"object","properties":{"email":{"type":"string"}},"required":["email"]}"""));

    private static readonly ProviderRequest Request = new(
        "gpt-4o-mini",
        [new ChatMessage("user", "Who is ada@example.com?")],
        MaxOutputTokens: 128,
        Temperature: null,
        Tools: [LookUpLead]);

    internal static OpenAIProvider Provider(StubHandler handler, string? preset = null) =>
        new("openai",
            new ProviderOptions { Kind = ProviderKind.OpenAI, BaseUrl = new Uri("https://openai.test/v1"), ApiKey = Key, Preset = preset },
            new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan },
            TimeProvider.System,
            NullLogger.Instance);

    internal static JsonElement JsonOf(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.Clone();
    }

    /// <summary>Sends <paramref name="request"/> and returns the body the server received.</summary>
    internal static async Task<JsonElement> SentBody(ProviderRequest request, string? preset = null)
    {
        var handler = new StubHandler(() => JsonResponse(200, TextAnswer));
        Assert.IsType<ProviderSuccess>(await Provider(handler, preset).CompleteAsync(request, CancellationToken.None));
        return JsonOf(handler.Last.Body);
    }

    internal static string ToolCallAnswer(string message, string finishReason = "tool_calls") =>
        $$$"""
        {"id":"chatcmpl-2","object":"chat.completion","created":1,"model":"gpt-4o-mini",
         "choices":[{"index":0,"message":{{{message}}},"finish_reason":"{{{finishReason}}}"}],
         "usage":{"prompt_tokens":40,"completion_tokens":12,"total_tokens":52}}
        """;

    private static async Task<ProviderResult> Answer(string body) =>
        await Provider(new StubHandler(() => JsonResponse(200, body))).CompleteAsync(Request, CancellationToken.None);

    [Fact]
    public async Task Text_only_request_body_is_unchanged_by_tool_support()
    {
        var handler = new StubHandler(() => JsonResponse(200, TextAnswer));
        var request = new ProviderRequest("gpt-4o-mini", [new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi")], 256, 0.2);

        await Provider(handler).CompleteAsync(request, CancellationToken.None);

        Assert.Equal(
            """{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],"max_completion_tokens":256,"temperature":0.2}""",
            handler.Last.Body);
    }

    [Fact]
    public async Task Tools_are_sent_as_functions_and_a_tool_without_parameters_gets_an_empty_object_schema()
    {
        var body = await SentBody(Request with { Tools = [LookUpLead, new ToolDefinition("list_meetings")] });

        var tools = body.GetProperty("tools").EnumerateArray().ToList();
        Assert.Equal(2, tools.Count);
        Assert.All(tools, t => Assert.Equal("function", t.GetProperty("type").GetString()));
        var first = tools[0].GetProperty("function");
        Assert.Equal("look_up_lead", first.GetProperty("name").GetString());
        Assert.Equal("Finds a lead by e-mail.", first.GetProperty("description").GetString());
        Assert.True(JsonElement.DeepEquals(LookUpLead.Parameters!.Value, first.GetProperty("parameters")));
        var second = tools[1].GetProperty("function");
        Assert.False(second.TryGetProperty("description", out _));
        Assert.True(JsonElement.DeepEquals(JsonOf("""{"type":"object","properties":{}}"""), second.GetProperty("parameters")));
        Assert.False(tools[0].TryGetProperty("strict", out _));
        Assert.False(body.TryGetProperty("tool_choice", out _));
    }

    [Theory]
    [InlineData("auto", "\"auto\"")]
    [InlineData("none", "\"none\"")]
    [InlineData("required", "\"required\"")]
    [InlineData("tool", """{"type":"function","function":{"name":"look_up_lead"}}""")]
    public async Task Tool_choice_takes_its_wire_form(string mode, string expected)
    {
        var choice = mode == ToolChoiceModes.Tool ? ToolChoice.Tool("look_up_lead") : new ToolChoice(mode);

        var body = await SentBody(Request with { ToolChoice = choice });

        Assert.True(JsonElement.DeepEquals(JsonOf(expected), body.GetProperty("tool_choice")));
    }

    [Fact]
    public async Task Earlier_tool_calls_and_tool_results_are_sent_in_the_openai_form()
    {
        var arguments = JsonOf("""{"email":"ada@example.com"}""");
        var request = Request with
        {
            Messages =
            [
                new ChatMessage("user", "Who is ada@example.com?"),
                new ChatMessage("assistant", null, [new ToolCall("call_1", "look_up_lead", arguments)]),
                new ChatMessage("tool", """{"name":"Ada"}""", ToolCallId: "call_1"),
                new ChatMessage("assistant", "Checking twice.", [new ToolCall("call_2", "look_up_lead", arguments)]),
                new ChatMessage("tool", """{"name":"Ada"}""", ToolCallId: "call_2"),
            ],
        };

        var messages = (await SentBody(request)).GetProperty("messages").EnumerateArray().ToList();

        var silent = messages[1];
        Assert.Equal("assistant", silent.GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, silent.GetProperty("content").ValueKind);
        var call = Assert.Single(silent.GetProperty("tool_calls").EnumerateArray());
        Assert.Equal("call_1", call.GetProperty("id").GetString());
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.Equal("look_up_lead", call.GetProperty("function").GetProperty("name").GetString());
        // Arguments travel as a string holding the JSON.
        Assert.True(JsonElement.DeepEquals(arguments, JsonOf(call.GetProperty("function").GetProperty("arguments").GetString()!)));

        var result = messages[2];
        Assert.Equal("tool", result.GetProperty("role").GetString());
        Assert.Equal("call_1", result.GetProperty("tool_call_id").GetString());
        Assert.Equal("""{"name":"Ada"}""", result.GetProperty("content").GetString());
        Assert.False(result.TryGetProperty("tool_calls", out _));

        Assert.Equal("Checking twice.", messages[3].GetProperty("content").GetString());
        Assert.Equal("call_2", messages[4].GetProperty("tool_call_id").GetString());
    }

    [Fact]
    public async Task Json_mode_without_the_word_json_adds_a_system_instruction()
    {
        var body = await SentBody(Request with { Tools = null, ResponseFormat = new ResponseFormat(ResponseFormatTypes.Json) });

        Assert.True(JsonElement.DeepEquals(JsonOf("""{"type":"json_object"}"""), body.GetProperty("response_format")));
        var messages = body.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(2, messages.Count);
        Assert.Equal("system", messages[0].GetProperty("role").GetString());
        Assert.Contains("JSON", messages[0].GetProperty("content").GetString());
        Assert.Equal("Who is ada@example.com?", messages[1].GetProperty("content").GetString());
    }

    [Fact]
    public async Task Json_mode_extends_a_leading_system_message_rather_than_adding_a_second()
    {
        var request = Request with
        {
            Tools = null,
            Messages = [new ChatMessage("system", "You qualify leads."), new ChatMessage("user", "Rate ada@example.com.")],
            ResponseFormat = new ResponseFormat(ResponseFormatTypes.Json),
        };

        var messages = (await SentBody(request)).GetProperty("messages").EnumerateArray().ToList();

        Assert.Equal(2, messages.Count);
        var system = messages[0].GetProperty("content").GetString()!;
        Assert.StartsWith("You qualify leads.", system);
        Assert.Contains("JSON", system);
    }

    [Theory]
    [InlineData("Answer in JSON.")]
    [InlineData("give me json please")]
    public async Task Json_mode_leaves_messages_alone_when_they_mention_json(string prompt)
    {
        var request = Request with { Tools = null, Messages = [new ChatMessage("user", prompt)], ResponseFormat = new ResponseFormat(ResponseFormatTypes.Json) };

        var messages = (await SentBody(request)).GetProperty("messages").EnumerateArray().ToList();

        Assert.Equal(prompt, Assert.Single(messages).GetProperty("content").GetString());
    }

    [Fact]
    public async Task Json_schema_is_sent_with_its_name_schema_and_strictness()
    {
        var schema = JsonOf("""{"type":"object","properties":{"score":{"type":"integer"}},"required":["score"],"additionalProperties":false}""");

        var named = await SentBody(Request with { ResponseFormat = new ResponseFormat(ResponseFormatTypes.JsonSchema, "lead_score", schema, true) });
        var unnamed = await SentBody(Request with { ResponseFormat = new ResponseFormat(ResponseFormatTypes.JsonSchema, Schema: schema) });

        var format = named.GetProperty("response_format");
        Assert.Equal("json_schema", format.GetProperty("type").GetString());
        Assert.Equal("lead_score", format.GetProperty("json_schema").GetProperty("name").GetString());
        Assert.True(JsonElement.DeepEquals(schema, format.GetProperty("json_schema").GetProperty("schema")));
        Assert.True(format.GetProperty("json_schema").GetProperty("strict").GetBoolean());
        var plain = unnamed.GetProperty("response_format").GetProperty("json_schema");
        Assert.Equal("response", plain.GetProperty("name").GetString());
        Assert.False(plain.TryGetProperty("strict", out _));
        // Only JSON mode needs the word JSON in the messages.
        Assert.Single(unnamed.GetProperty("messages").EnumerateArray());
    }

    [Fact]
    public async Task Text_response_format_sends_no_response_format()
    {
        var body = await SentBody(Request with { ResponseFormat = new ResponseFormat(ResponseFormatTypes.Text) });

        Assert.False(body.TryGetProperty("response_format", out _));
    }

    [Fact]
    public async Task Tool_calls_with_null_content_are_a_success_with_parsed_arguments()
    {
        var result = await Answer(ToolCallAnswer("""
            {"role":"assistant","content":null,"tool_calls":[
              {"id":"call_Ab12","type":"function","function":{"name":"look_up_lead","arguments":"{\"email\":\"ada@example.com\"}"}},
              {"id":"call_Cd34","type":"function","function":{"name":"list_meetings","arguments":"{}"}}]}
            """));

        var success = Assert.IsType<ProviderSuccess>(result);
        Assert.Equal("", success.Text);
        Assert.Equal("tool_calls", success.FinishReason);
        Assert.Equal(FinishReasons.ToolCalls, success.Finish);
        Assert.Equal(2, success.ToolCalls!.Count);
        Assert.Equal("call_Ab12", success.ToolCalls[0].Id);
        Assert.Equal("look_up_lead", success.ToolCalls[0].Name);
        Assert.Equal("ada@example.com", success.ToolCalls[0].Arguments.GetProperty("email").GetString());
        Assert.Equal(JsonValueKind.Object, success.ToolCalls[1].Arguments.ValueKind);
        Assert.Equal(40, success.InputTokens);
    }

    [Fact]
    public async Task Text_with_tool_calls_keeps_both()
    {
        var result = await Answer(ToolCallAnswer("""
            {"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"look_up_lead","arguments":"{}"}}]}
            """));

        var success = Assert.IsType<ProviderSuccess>(result);
        Assert.Equal("Let me check.", success.Text);
        Assert.Single(success.ToolCalls!);
    }

    [Fact]
    public async Task Arguments_sent_as_an_object_or_left_empty_are_accepted()
    {
        var result = await Answer(ToolCallAnswer("""
            {"role":"assistant","content":"","tool_calls":[
              {"id":"a","type":"function","function":{"name":"look_up_lead","arguments":{"email":"ada@example.com"}}},
              {"id":"b","type":"function","function":{"name":"list_meetings","arguments":""}},
              {"id":"c","type":"function","function":{"name":"list_meetings"}}]}
            """));

        var calls = Assert.IsType<ProviderSuccess>(result).ToolCalls!;
        Assert.Equal("ada@example.com", calls[0].Arguments.GetProperty("email").GetString());
        Assert.Empty(calls[1].Arguments.EnumerateObject());
        Assert.Empty(calls[2].Arguments.EnumerateObject());
    }

    [Fact]
    public async Task Arguments_that_are_not_json_are_bad_output_naming_the_tool()
    {
        var result = await Answer(ToolCallAnswer("""
            {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"look_up_lead","arguments":"{\"email\": \"ada@exa"}}]}
            """, "length"));

        var failure = Assert.IsType<ProviderFailure>(result);
        Assert.Equal(ErrorClass.BadOutput, failure.Class);
        Assert.Contains("'look_up_lead'", failure.Detail);
        Assert.Contains("not JSON", failure.Detail);
    }

    [Fact]
    public async Task A_tool_call_without_a_name_is_bad_output()
    {
        var result = await Answer(ToolCallAnswer("""
            {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"arguments":"{}"}}]}
            """));

        Assert.Equal(ErrorClass.BadOutput, Assert.IsType<ProviderFailure>(result).Class);
    }

    [Fact]
    public async Task Missing_ids_are_made_up_in_openai_shape_and_distinct()
    {
        var result = await Answer(ToolCallAnswer("""
            {"role":"assistant","content":null,"tool_calls":[
              {"type":"function","function":{"name":"look_up_lead","arguments":"{}"}},
              {"id":"","type":"function","function":{"name":"look_up_lead","arguments":"{}"}}]}
            """));

        var calls = Assert.IsType<ProviderSuccess>(result).ToolCalls!;
        Assert.All(calls, c => Assert.Matches(new Regex("^call_[0-9a-f]{24}$"), c.Id));
        Assert.NotEqual(calls[0].Id, calls[1].Id);
    }

    [Fact]
    public async Task Tool_calls_under_finish_reason_stop_still_finish_as_tool_calls()
    {
        var result = await Answer(ToolCallAnswer("""
            {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"look_up_lead","arguments":"{}"}}]}
            """, "stop"));

        var success = Assert.IsType<ProviderSuccess>(result);
        Assert.Equal("stop", success.FinishReason);
        Assert.Equal(FinishReasons.ToolCalls, success.Finish);
    }

    [Theory]
    [InlineData("stop", FinishReasons.Stop)]
    [InlineData("eos", FinishReasons.Stop)]
    [InlineData("end", FinishReasons.Stop)]
    [InlineData("end_turn", FinishReasons.Stop)]
    [InlineData("stop_sequence", FinishReasons.Stop)]
    [InlineData("length", FinishReasons.Length)]
    [InlineData("max_tokens", FinishReasons.Length)]
    [InlineData("error", FinishReasons.Stop)]
    [InlineData("something_new", FinishReasons.Stop)]
    // A tool_calls reason with no call in the message: nothing waits for results.
    [InlineData("tool_calls", FinishReasons.Stop)]
    [InlineData("function_call", FinishReasons.Stop)]
    public async Task Finish_reasons_of_text_answers_are_normalised(string reason, string expected)
    {
        var result = await Answer(ToolCallAnswer("""{"role":"assistant","content":"Hi"}""", reason));

        var success = Assert.IsType<ProviderSuccess>(result);
        Assert.Equal(reason, success.FinishReason);
        Assert.Equal(expected, success.Finish);
        Assert.Null(success.ToolCalls);
    }

    [Theory]
    [InlineData("tool_calls")]
    [InlineData("function_call")]
    [InlineData("length")]
    public async Task Any_finish_reason_with_tool_calls_is_tool_calls(string reason)
    {
        var result = await Answer(ToolCallAnswer("""
            {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"look_up_lead","arguments":"{}"}}]}
            """, reason));

        Assert.Equal(FinishReasons.ToolCalls, Assert.IsType<ProviderSuccess>(result).Finish);
    }

    [Fact]
    public async Task Missing_finish_reason_stays_null()
    {
        var result = await Answer("""
            {"id":"x","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"Hi"}}]}
            """);

        Assert.Null(Assert.IsType<ProviderSuccess>(result).Finish);
    }

    [Fact]
    public async Task Neither_text_nor_tool_calls_is_still_bad_output()
    {
        var result = await Answer(ToolCallAnswer("""{"role":"assistant","content":null,"tool_calls":[]}""", "stop"));

        var failure = Assert.IsType<ProviderFailure>(result);
        Assert.Equal(ErrorClass.BadOutput, failure.Class);
        Assert.Contains("no content", failure.Detail);
    }

    [Fact]
    public void Without_a_preset_every_tool_choice_can_be_served()
    {
        var provider = Provider(new StubHandler(() => JsonResponse(200, TextAnswer)));

        Assert.Null(provider.CannotServe(Request with { ToolChoice = ToolChoice.Required }));
        Assert.Null(provider.CannotServe(Request with { ToolChoice = ToolChoice.Tool("look_up_lead") }));
    }
}
