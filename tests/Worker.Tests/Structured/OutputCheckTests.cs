using System.Text.Json;
using Worker.Contracts;
using Worker.Providers;
using Worker.Structured;

namespace Worker.Tests.Structured;

public class OutputCheckTests
{
    private static readonly ToolDefinition LookUpLead = new("look_up_lead", "Finds a lead by email.", Json("""
        {"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"]}
        """));

    private static readonly ToolDefinition BookMeeting = new("book_meeting", null, Json("""{"type": "object"}"""));

    private static readonly JsonElement LeadSchema = Json("""
        {"type": "object", "properties": {"name": {"type": "string"}, "score": {"type": "integer"}}, "required": ["name", "score"]}
        """);

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static ProviderRequest WithTools(ToolChoice? choice = null) =>
        new("m", [new ChatMessage("user", "book it")], null, null, [LookUpLead, BookMeeting], choice);

    private static ProviderRequest WithFormat(ResponseFormat format) => new("m", [new ChatMessage("user", "json please")], null, null, ResponseFormat: format);

    private static ProviderSuccess Answer(string text = "", string? finish = FinishReasons.Stop, params ToolCall[] calls) =>
        new(text, "model-x", 12, 7, "raw") { ToolCalls = calls.Length == 0 ? null : calls, Finish = finish };

    private static ToolCall Call(string name, string arguments, string id = "call_1") => new(id, name, Json(arguments));

    [Fact]
    public void A_call_of_an_offered_tool_with_valid_arguments_passes_and_finishes_as_tool_calls()
    {
        var result = OutputCheck.Check(WithTools(), Answer("", FinishReasons.Stop, Call("look_up_lead", """{"email": "a@b.c"}""")));

        var success = Assert.IsType<ProviderSuccess>(result);
        Assert.Equal(FinishReasons.ToolCalls, success.Finish);
        Assert.Equal("look_up_lead", Assert.Single(success.ToolCalls!).Name);
    }

    [Fact]
    public void A_call_of_a_tool_the_request_does_not_offer_is_bad_output_naming_it()
    {
        var failure = Assert.IsType<ProviderFailure>(OutputCheck.Check(WithTools(), Answer(calls: Call("delete_crm", "{}"))));

        Assert.Equal(ErrorClass.BadOutput, failure.Class);
        Assert.Contains("'delete_crm', which the request does not offer", failure.Detail);
        Assert.Contains("look_up_lead, book_meeting", failure.Detail);
    }

    [Fact]
    public void Arguments_that_fail_the_tools_schema_are_bad_output_and_keep_the_billed_tokens()
    {
        var failure = Assert.IsType<ProviderFailure>(OutputCheck.Check(WithTools(), Answer(calls: Call("look_up_lead", """{"mail": 1}"""))));

        Assert.Equal(ErrorClass.BadOutput, failure.Class);
        Assert.Contains("arguments of tool 'look_up_lead' do not satisfy its parameters", failure.Detail);
        Assert.Contains("email", failure.Detail);
        Assert.Equal((12, 7), (failure.InputTokens, failure.OutputTokens));
    }

    [Fact]
    public void Arguments_that_are_not_an_object_are_bad_output()
    {
        var failure = Assert.IsType<ProviderFailure>(OutputCheck.Check(WithTools(), Answer(calls: Call("book_meeting", "\"tomorrow\""))));

        Assert.Contains("are a string, not a JSON object", failure.Detail);
    }

    [Fact]
    public void Two_calls_with_one_id_are_bad_output()
    {
        var failure = Assert.IsType<ProviderFailure>(OutputCheck.Check(WithTools(),
            Answer(calls: [Call("book_meeting", "{}", "same"), Call("book_meeting", "{}", "same")])));

        Assert.Contains("share an id", failure.Detail);
    }

    [Theory]
    [InlineData("required", null, "toolChoice is 'required', and the answer calls no tool")]
    [InlineData("tool", "book_meeting", "toolChoice requires a call of 'book_meeting'")]
    public void A_forced_tool_choice_answered_with_text_is_bad_output(string mode, string? name, string expected)
    {
        var failure = Assert.IsType<ProviderFailure>(OutputCheck.Check(WithTools(new ToolChoice(mode, name)), Answer("I booked it.")));

        Assert.Contains(expected, failure.Detail);
    }

    [Fact]
    public void A_call_of_another_tool_than_the_forced_one_is_bad_output()
    {
        var failure = Assert.IsType<ProviderFailure>(OutputCheck.Check(WithTools(ToolChoice.Tool("book_meeting")),
            Answer(calls: Call("look_up_lead", """{"email": "a@b.c"}"""))));

        Assert.Contains("toolChoice requires 'book_meeting'", failure.Detail);
    }

    [Fact]
    public void A_tool_call_when_tool_choice_is_none_is_bad_output()
    {
        var failure = Assert.IsType<ProviderFailure>(OutputCheck.Check(WithTools(ToolChoice.None), Answer(calls: Call("book_meeting", "{}"))));

        Assert.Contains("toolChoice is 'none'", failure.Detail);
    }

    [Fact]
    public void Text_for_a_json_request_is_bad_output()
    {
        var failure = Assert.IsType<ProviderFailure>(OutputCheck.Check(WithFormat(new ResponseFormat("json")), Answer("Sure! Here is the JSON: {")));

        Assert.Equal(ErrorClass.BadOutput, failure.Class);
        Assert.StartsWith("model-x: the answer is not JSON:", failure.Detail);
    }

    [Fact]
    public void Json_cut_at_the_output_limit_says_so()
    {
        var failure = Assert.IsType<ProviderFailure>(OutputCheck.Check(WithFormat(new ResponseFormat("json")), Answer("""{"name": "Ada", "sc""", FinishReasons.Length)));

        Assert.Contains("not JSON (cut off at the output limit)", failure.Detail);
    }

    [Fact]
    public void Json_that_does_not_satisfy_the_schema_is_bad_output_naming_the_problem()
    {
        var format = new ResponseFormat("json_schema", "lead", LeadSchema);

        var failure = Assert.IsType<ProviderFailure>(OutputCheck.Check(WithFormat(format), Answer("""{"name": "Ada", "score": "high"}""")));

        Assert.Contains("does not satisfy the schema 'lead'", failure.Detail);
        Assert.Contains("/score", failure.Detail);
    }

    [Fact]
    public void Json_that_satisfies_the_schema_is_parsed_into_json_and_a_code_fence_is_removed()
    {
        var format = new ResponseFormat("json_schema", "lead", LeadSchema);

        var success = Assert.IsType<ProviderSuccess>(OutputCheck.Check(WithFormat(format), Answer("```json\n{\"name\": \"Ada\", \"score\": 9}\n```")));

        Assert.Equal("{\"name\": \"Ada\", \"score\": 9}", success.Text);
        Assert.Equal(9, success.Json!.Value.GetProperty("score").GetInt32());
    }

    [Fact]
    public void A_plain_text_request_is_left_as_it_is()
    {
        var answer = Answer("not json at all");

        Assert.Same(answer, OutputCheck.Check(new ProviderRequest("m", [new ChatMessage("user", "hi")], null, null), answer));
    }

    [Fact]
    public void JsonOf_parses_a_stored_answer_only_for_a_json_request()
    {
        var json = new CompletionRequested(Guid.NewGuid(), null, [new ChatMessage("user", "x")], ResponseFormat: new ResponseFormat("json"));
        var text = json with { ResponseFormat = null };

        Assert.Equal(1, OutputCheck.JsonOf(json, """{"a": 1}""")!.Value.GetProperty("a").GetInt32());
        Assert.Null(OutputCheck.JsonOf(text, """{"a": 1}"""));
    }
}
