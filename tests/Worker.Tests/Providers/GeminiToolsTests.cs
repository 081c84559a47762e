using System.Text.Json;
using System.Text.Json.Nodes;
using Worker.Contracts;
using Worker.Providers;
using Worker.Providers.Gemini;
using static Worker.Tests.Providers.StubHandler;

namespace Worker.Tests.Providers;

/// <summary>Tools, tool choice, tool turns and structured output on the Gemini wire.</summary>
public class GeminiToolsTests
{
    private const string Key = "test-gemini-key-7f3a9c";

    private const string TextAnswer = """{"candidates":[{"content":{"parts":[{"text":"ok"}],"role":"model"},"finishReason":"STOP"}]}""";

    private static readonly JsonElement LookupParameters = Json("""
        {"type":"object","properties":{"email":{"type":"string"},"limit":{"type":["integer","null"]}},"required":["email"],"additionalProperties":false}
        """);

    private static readonly IReadOnlyList<ToolDefinition> Tools =
    [
        new("lookup_lead", "Find a lead by email", LookupParameters),
        new("list_meetings"),
    ];

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    private static ProviderRequest Request(params ChatMessage[] messages) =>
        new("gemini-2.5-flash", messages.Length > 0 ? messages : [new ChatMessage("user", "Who is ana@example.com?")], null, null);

    private static GeminiProvider Provider(StubHandler handler) =>
        new("gemini",
            new ProviderOptions { Kind = ProviderKind.Gemini, BaseUrl = new Uri("https://gemini.test"), ApiKey = Key, Timeout = TimeSpan.FromSeconds(30) },
            new HttpClient(handler) { Timeout = Timeout.InfiniteTimeSpan },
            TimeProvider.System);

    private static async Task<JsonNode> Sent(ProviderRequest request)
    {
        var handler = new StubHandler(() => JsonResponse(200, TextAnswer));
        Assert.IsType<ProviderSuccess>(await Provider(handler).CompleteAsync(request, CancellationToken.None));
        return JsonNode.Parse(handler.Last.Body)!;
    }

    private static async Task<ProviderResult> Answer(string body)
    {
        var handler = new StubHandler(() => JsonResponse(200, body));
        return await Provider(handler).CompleteAsync(Request(), CancellationToken.None);
    }

    private static async Task<ProviderFailure> Refused(ProviderRequest request)
    {
        var handler = new StubHandler(() => JsonResponse(200, TextAnswer));
        var failure = Assert.IsType<ProviderFailure>(await Provider(handler).CompleteAsync(request, CancellationToken.None));
        Assert.Equal(ErrorClass.InvalidRequest, failure.Class);
        Assert.Equal(0, handler.Calls);
        return failure;
    }

    private static void AssertJson(string expected, JsonNode? actual) =>
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual), $"expected {expected}, got {actual?.ToJsonString()}");

    [Fact]
    public async Task Tools_become_function_declarations_with_gemini_schemas_and_auto_needs_no_toolConfig()
    {
        var body = await Sent(Request() with { Tools = Tools });

        AssertJson("""
            [{"functionDeclarations":[
              {"name":"lookup_lead","description":"Find a lead by email","parameters":
                {"type":"OBJECT","properties":{"email":{"type":"STRING"},"limit":{"type":"INTEGER","nullable":true}},"required":["email"]}},
              {"name":"list_meetings"}
            ]}]
            """, body["tools"]);
        Assert.Null(body["toolConfig"]);
    }

    public static TheoryData<ToolChoice, string> Choices => new()
    {
        { ToolChoice.Auto, """{"functionCallingConfig":{"mode":"AUTO"}}""" },
        { ToolChoice.None, """{"functionCallingConfig":{"mode":"NONE"}}""" },
        { ToolChoice.Required, """{"functionCallingConfig":{"mode":"ANY"}}""" },
        { ToolChoice.Tool("lookup_lead"), """{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["lookup_lead"]}}""" },
    };

    [Theory]
    [MemberData(nameof(Choices))]
    public async Task Tool_choice_becomes_the_function_calling_mode(ToolChoice choice, string expected)
    {
        var body = await Sent(Request() with { Tools = Tools, ToolChoice = choice });

        AssertJson(expected, body["toolConfig"]);
    }

    [Fact]
    public async Task An_unknown_tool_choice_is_an_invalid_request()
    {
        var failure = await Refused(Request() with { Tools = Tools, ToolChoice = new ToolChoice("sometimes") });

        Assert.Contains("'sometimes'", failure.Detail);
    }

    [Fact]
    public async Task Assistant_tool_calls_become_a_model_turn_and_tool_results_one_user_turn_of_function_responses()
    {
        var body = await Sent(Request(
            new ChatMessage("user", "Book Ana and check my week"),
            new ChatMessage("assistant", "Looking.",
            [
                new ToolCall("call_a", "lookup_lead", Json("""{"email":"ana@example.com"}""")),
                new ToolCall("toolu_b", "list_meetings", default),
            ]),
            new ChatMessage("tool", """{"id":7,"name":"Ana"}""", ToolCallId: "call_a"),
            new ChatMessage("tool", "no meetings this week", ToolCallId: "toolu_b"),
            new ChatMessage("user", "Thanks")) with { Tools = Tools });

        AssertJson("""
            [
              {"role":"user","parts":[{"text":"Book Ana and check my week"}]},
              {"role":"model","parts":[
                {"text":"Looking."},
                {"functionCall":{"id":"call_a","name":"lookup_lead","args":{"email":"ana@example.com"}},"thoughtSignature":"skip_thought_signature_validator"},
                {"functionCall":{"id":"toolu_b","name":"list_meetings","args":{}}}
              ]},
              {"role":"user","parts":[
                {"functionResponse":{"id":"call_a","name":"lookup_lead","response":{"id":7,"name":"Ana"}}},
                {"functionResponse":{"id":"toolu_b","name":"list_meetings","response":{"content":"no meetings this week"}}}
              ]},
              {"role":"user","parts":[{"text":"Thanks"}]}
            ]
            """, body["contents"]);
    }

    [Fact]
    public async Task A_tool_result_that_is_json_but_not_an_object_is_wrapped_as_its_parsed_value()
    {
        var body = await Sent(Request(
            new ChatMessage("user", "How many?"),
            new ChatMessage("assistant", null, [new ToolCall("c1", "list_meetings", default)]),
            new ChatMessage("tool", "[1,2]", ToolCallId: "c1")) with { Tools = Tools });

        AssertJson("""{"content":[1,2]}""", body["contents"]![2]!["parts"]![0]!["functionResponse"]!["response"]);
        AssertJson("""[{"functionCall":{"id":"c1","name":"list_meetings","args":{}},"thoughtSignature":"skip_thought_signature_validator"}]""",
            body["contents"]![1]!["parts"]);
    }

    [Fact]
    public async Task A_tool_message_answering_no_earlier_call_is_an_invalid_request_naming_the_id()
    {
        var failure = await Refused(Request(
            new ChatMessage("user", "Hi"),
            new ChatMessage("assistant", null, [new ToolCall("call_a", "lookup_lead", Json("{}"))]),
            new ChatMessage("tool", "done", ToolCallId: "call_zz")) with { Tools = Tools });

        Assert.Contains("'call_zz'", failure.Detail);
    }

    [Fact]
    public async Task Tool_call_arguments_that_are_not_an_object_are_an_invalid_request()
    {
        var failure = await Refused(Request(
            new ChatMessage("user", "Hi"),
            new ChatMessage("assistant", null, [new ToolCall("call_a", "lookup_lead", Json("\"ana@example.com\""))])) with { Tools = Tools });

        Assert.Contains("'call_a'", failure.Detail);
    }

    [Fact]
    public async Task A_text_only_request_sends_no_tools_toolConfig_or_response_format()
    {
        var body = await Sent(Request() with { ToolChoice = ToolChoice.Required });

        Assert.Null(body["tools"]);
        Assert.Null(body["toolConfig"]);
        Assert.Null(body["generationConfig"]);
    }

    [Fact]
    public async Task Json_format_asks_for_application_json_and_json_schema_adds_the_converted_schema()
    {
        var json = await Sent(Request() with { ResponseFormat = new ResponseFormat(ResponseFormatTypes.Json) });
        var schema = await Sent(Request() with
        {
            ResponseFormat = new ResponseFormat(ResponseFormatTypes.JsonSchema, "verdict",
                Json("""{"type":"object","properties":{"verdict":{"enum":["yes","no"]}},"required":["verdict"]}""")),
        });
        var text = await Sent(Request() with { ResponseFormat = new ResponseFormat(ResponseFormatTypes.Text) });

        AssertJson("""{"responseMimeType":"application/json"}""", json["generationConfig"]);
        AssertJson("""
            {"responseMimeType":"application/json","responseSchema":
              {"type":"OBJECT","properties":{"verdict":{"type":"STRING","enum":["yes","no"]}},"required":["verdict"]}}
            """, schema["generationConfig"]);
        Assert.Null(text["generationConfig"]);
    }

    [Fact]
    public async Task A_schema_gemini_cannot_express_is_refused_without_a_call_with_the_same_reason_as_CannotServe()
    {
        var badTool = Request() with { Tools = [new ToolDefinition("pick", null, Json("""{"type":"object","properties":{"v":{"oneOf":[{"type":"string"},{"type":"integer"}]}}}"""))] };
        var badFormat = Request() with { ResponseFormat = new ResponseFormat(ResponseFormatTypes.JsonSchema, "s", Json("""{"type":"object","properties":{"a":{"type":"string"}},"patternProperties":{"^x":{}}}""")) };
        ICompletionProvider provider = Provider(new StubHandler(() => JsonResponse(200, TextAnswer)));

        Assert.Equal("tool 'pick' parameters: the schema uses 'oneOf' at #/properties/v, which Gemini's schema subset lacks", provider.CannotServe(badTool));
        Assert.Equal("response schema: the schema uses 'patternProperties' at #, which Gemini's schema subset lacks", provider.CannotServe(badFormat));
        Assert.Null(provider.CannotServe(Request() with { Tools = Tools }));
        Assert.Equal(provider.CannotServe(badTool), (await Refused(badTool)).Detail);
        Assert.Equal(provider.CannotServe(badFormat), (await Refused(badFormat)).Detail);
    }

    [Fact]
    public async Task Function_calls_become_tool_calls_with_gemini_ids_or_made_up_ones()
    {
        var success = Assert.IsType<ProviderSuccess>(await Answer("""
            {"candidates":[{"content":{"role":"model","parts":[
              {"functionCall":{"id":"g-1","name":"lookup_lead","args":{"email":"ana@example.com"}},"thoughtSignature":"c2ln"},
              {"functionCall":{"name":"list_meetings"}}
            ]},"finishReason":"STOP"}]}
            """));

        Assert.Equal("", success.Text);
        Assert.Equal(FinishReasons.ToolCalls, success.Finish);
        Assert.Equal("STOP", success.FinishReason);
        var calls = Assert.IsAssignableFrom<IReadOnlyList<ToolCall>>(success.ToolCalls);
        Assert.Equal(2, calls.Count);
        Assert.Equal(("g-1", "lookup_lead", """{"email":"ana@example.com"}"""), (calls[0].Id, calls[0].Name, calls[0].Arguments.GetRawText()));
        Assert.Matches("^call_[0-9a-f]{24}$", calls[1].Id);
        Assert.Equal(("list_meetings", JsonValueKind.Object, 0), (calls[1].Name, calls[1].Arguments.ValueKind, calls[1].Arguments.EnumerateObject().Count()));
    }

    [Fact]
    public async Task Text_with_function_calls_keeps_both_and_skips_thoughts()
    {
        var success = Assert.IsType<ProviderSuccess>(await Answer("""
            {"candidates":[{"content":{"role":"model","parts":[
              {"text":"I should look Ana up.","thought":true},
              {"text":"Let me check."},
              {"functionCall":{"name":"lookup_lead","args":{"email":"ana@example.com"}}}
            ]},"finishReason":"STOP"}]}
            """));

        Assert.Equal("Let me check.", success.Text);
        Assert.Equal("lookup_lead", Assert.Single(success.ToolCalls!).Name);
        Assert.Equal(FinishReasons.ToolCalls, success.Finish);
    }

    [Theory]
    [InlineData("STOP", FinishReasons.Stop)]
    [InlineData("MAX_TOKENS", FinishReasons.Length)]
    [InlineData("OTHER", null)]
    public async Task Text_answers_get_a_normalised_finish_and_no_tool_calls(string finishReason, string? expected)
    {
        var success = Assert.IsType<ProviderSuccess>(await Answer(
            $$"""{"candidates":[{"content":{"parts":[{"text":"ok"}],"role":"model"},"finishReason":"{{finishReason}}"}]}"""));

        Assert.Equal(expected, success.Finish);
        Assert.Null(success.ToolCalls);
    }

    [Theory]
    [InlineData("MALFORMED_FUNCTION_CALL", ErrorClass.BadOutput)]
    [InlineData("UNEXPECTED_TOOL_CALL", ErrorClass.BadOutput)]
    [InlineData("TOO_MANY_TOOL_CALLS", ErrorClass.BadOutput)]
    [InlineData("MALFORMED_RESPONSE", ErrorClass.BadOutput)]
    [InlineData("MISSING_THOUGHT_SIGNATURE", ErrorClass.BadOutput)]
    [InlineData("IMAGE_SAFETY", ErrorClass.ContentBlocked)]
    [InlineData("IMAGE_PROHIBITED_CONTENT", ErrorClass.ContentBlocked)]
    [InlineData("IMAGE_RECITATION", ErrorClass.ContentBlocked)]
    [InlineData("LANGUAGE", ErrorClass.ContentBlocked)]
    public async Task Failing_finish_reasons_are_classified_and_named_even_with_text(string finishReason, ErrorClass expected)
    {
        var failure = Assert.IsType<ProviderFailure>(await Answer($$"""
            {"candidates":[{"content":{"parts":[{"text":"partial"}],"role":"model"},"finishReason":"{{finishReason}}",
              "finishMessage":"Malformed function call: print(lookup_lead("}]}
            """));

        Assert.Equal(expected, failure.Class);
        Assert.Contains(finishReason, failure.Detail);
    }

    [Fact]
    public async Task A_function_call_without_a_name_is_bad_output()
    {
        var failure = Assert.IsType<ProviderFailure>(await Answer("""
            {"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"args":{}}}]},"finishReason":"STOP"}]}
            """));

        Assert.Equal(ErrorClass.BadOutput, failure.Class);
    }
}
