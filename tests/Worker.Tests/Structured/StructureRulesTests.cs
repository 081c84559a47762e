using System.Text.Json;
using Worker.Contracts;
using Worker.Structured;

namespace Worker.Tests.Structured;

public class StructureRulesTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static readonly ToolDefinition LookUpLead = new("look_up_lead", "Finds a lead.", Json("""
        {"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"]}
        """));

    private static CompletionRequested Request(IReadOnlyList<ChatMessage>? messages = null, IReadOnlyList<ToolDefinition>? tools = null,
        ToolChoice? choice = null, ResponseFormat? format = null) =>
        new(Guid.NewGuid(), null, messages ?? [new ChatMessage("user", "hi")], Tools: tools, ToolChoice: choice, ResponseFormat: format);

    /// <summary>A whole tool round: the question, the model's call, the tool's result.</summary>
    private static IReadOnlyList<ChatMessage> ToolRound(string answeredId = "call_1") =>
    [
        new ChatMessage("user", "Who is ada@example.com?"),
        new ChatMessage("assistant", null, [new ToolCall("call_1", "look_up_lead", Json("""{"email": "ada@example.com"}"""))]),
        new ChatMessage("tool", """{"name": "Ada"}""", ToolCallId: answeredId),
    ];

    [Fact]
    public void A_complete_tool_conversation_with_a_schema_format_is_valid()
    {
        var request = Request(ToolRound(), [LookUpLead], ToolChoice.Auto,
            new ResponseFormat("json_schema", "lead", Json("""{"type": "object", "properties": {"name": {"type": "string"}}}"""), true));

        Assert.Null(StructureRules.Validate(request));
    }

    public static TheoryData<string, CompletionRequested> Invalid => new()
    {
        { "tools[0].name 'look up' must be 1 to 64 letters, digits, '_' or '-'", Request(tools: [new ToolDefinition("look up")]) },
        { "tools[1].name 'look_up_lead' is offered twice", Request(tools: [LookUpLead, LookUpLead]) },
        { "tools[0].parameters must describe an object (\"type\": \"object\"), not \"string\"", Request(tools: [new ToolDefinition("t", null, Json("""{"type": "string"}"""))]) },
        { "tools[0].parameters must be a JSON Schema object, not an array", Request(tools: [new ToolDefinition("t", null, Json("[]"))]) },
        { "tools[0].parameters is not a valid JSON Schema: 'properties' value must be an object, found Number", Request(tools: [new ToolDefinition("t", null, Json("""{"type": "object", "properties": 5}"""))]) },
        { "toolChoice is 'required', and tools is empty", Request(choice: ToolChoice.Required) },
        { "toolChoice names 'book_meeting', which tools does not offer", Request(tools: [LookUpLead], choice: ToolChoice.Tool("book_meeting")) },
        { "toolChoice 'any' is not one of auto, none, required, or {\"name\": \"...\"}", Request(tools: [LookUpLead], choice: new ToolChoice("any")) },
        { "messages[2].toolCallId 'call_9' answers no tool call of an earlier assistant message", Request(ToolRound("call_9"), [LookUpLead]) },
        { "messages carry tool calls or tool results, so tools must list the tools (providers such as Anthropic refuse tool turns without them)", Request(ToolRound()) },
        { "messages[0].toolCalls is only allowed on an assistant message, not on role 'user'", Request([new ChatMessage("user", "hi", [new ToolCall("c", "look_up_lead", Json("{}"))])], [LookUpLead]) },
        { "messages[1].toolCalls[0].arguments must be a JSON object, not a string", Request([new ChatMessage("user", "hi"), new ChatMessage("assistant", null, [new ToolCall("c", "look_up_lead", Json("\"x\""))])], [LookUpLead]) },
        { "messages[0].toolCallId is only allowed on a tool message, not on role 'user'", Request([new ChatMessage("user", "hi", ToolCallId: "c")]) },
        { "messages[1].toolCallId is missing: a tool message answers one tool call by its id", Request([new ChatMessage("user", "hi"), new ChatMessage("tool", "{}")], [LookUpLead]) },
        { "responseFormat.type 'xml' is not one of text, json, json_schema", Request(format: new ResponseFormat("xml")) },
        { "responseFormat.schema must be a JSON Schema object for type json_schema", Request(format: new ResponseFormat("json_schema", "x")) },
        { "responseFormat.schema is only used with type json_schema, not 'json'", Request(format: new ResponseFormat("json", null, Json("{}"))) },
        { "responseFormat.schema is not a valid JSON Schema: 'objectz' is not a valid JSON Schema value type", Request(format: new ResponseFormat("json_schema", "x", Json("""{"type": "objectz"}"""))) },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Each_problem_is_named(string expected, CompletionRequested request)
    {
        Assert.Equal(expected, StructureRules.Validate(request));
    }

    [Fact]
    public void The_validator_lets_an_assistant_turn_with_only_tool_calls_go_without_text_but_not_a_tool_result_without_content()
    {
        var limits = new Worker.Requests.RequestLimits();
        var chains = new Worker.Chain.ChainCatalog(
            Microsoft.Extensions.Options.Options.Create(new Worker.Chain.ChainsOptions
            {
                [Worker.Chain.ChainsOptions.DefaultChain] = [new Worker.Chain.ChainStepOptions { Provider = "gemini", Model = "gemini-2.5-flash" }],
            }),
            Microsoft.Extensions.Options.Options.Create(new Worker.Providers.ProvidersOptions()));

        Assert.Null(Worker.Messaging.RequestValidator.Validate(Request(ToolRound(), [LookUpLead]), chains, limits));
        var noResult = Request([.. ToolRound().Take(2), new ChatMessage("tool", null, ToolCallId: "call_1")], [LookUpLead]);
        Assert.Equal("messages[2].content is empty", Worker.Messaging.RequestValidator.Validate(noResult, chains, limits));
    }

    [Fact]
    public void ToolChoice_reads_and_writes_both_wire_forms()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web);

        Assert.Equal(ToolChoice.Required, JsonSerializer.Deserialize<ToolChoice>("\"required\"", options));
        Assert.Equal(ToolChoice.Tool("book_meeting"), JsonSerializer.Deserialize<ToolChoice>("""{"name": "book_meeting"}""", options));
        Assert.Equal("\"none\"", JsonSerializer.Serialize(ToolChoice.None, options));
        Assert.Equal("""{"name":"book_meeting"}""", JsonSerializer.Serialize(ToolChoice.Tool("book_meeting"), options));
    }
}
