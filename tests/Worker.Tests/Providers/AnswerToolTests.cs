using System.Text.Json;
using Worker.Contracts;
using Worker.Providers;
using Worker.Providers.Gemini;

namespace Worker.Tests.Providers;

/// <summary>A JSON answer asked for as a tool where a wire cannot combine tools with a JSON mode (Gemini 2.x).</summary>
public class AnswerToolTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static readonly ToolDefinition LookUpLead = new("look_up_lead", null, Json("""{"type": "object", "properties": {"email": {"type": "string"}}}"""));

    private static readonly ResponseFormat Lead = new("json_schema", "lead", Json("""{"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}"""));

    private static ProviderRequest Request(ResponseFormat? format, ToolChoice? choice = null, params ToolDefinition[] tools) =>
        new("gemini-2.5-flash", [new ChatMessage("user", "hi")], null, null, tools.Length == 0 ? null : tools, choice, format);

    [Fact]
    public void Gemini_offers_the_answer_as_a_function_the_model_must_call_when_it_calls_no_other()
    {
        var (adapted, name) = GeminiRequestBuilder.Adapt(Request(Lead, null, LookUpLead));

        Assert.Equal(AnswerTool.BaseName, name);
        Assert.Null(adapted.ResponseFormat);
        Assert.Equal(ToolChoice.Required, adapted.ToolChoice);
        var tool = adapted.Tools![^1];
        Assert.Equal(AnswerTool.BaseName, tool.Name);
        Assert.Equal("string", tool.Parameters!.Value.GetProperty("properties").GetProperty("answer").GetProperty("properties").GetProperty("name").GetProperty("type").GetString());
    }

    [Fact]
    public void The_answer_tool_takes_a_name_no_request_tool_has()
    {
        var (_, name) = GeminiRequestBuilder.Adapt(Request(Lead, null, LookUpLead, new ToolDefinition(AnswerTool.BaseName)));

        Assert.Equal(AnswerTool.BaseName + "_2", name);
    }

    [Fact]
    public void Gemini_gets_an_instruction_instead_of_the_json_mode_for_json_without_a_schema_or_forced_tools()
    {
        var (plain, none) = GeminiRequestBuilder.Adapt(Request(new ResponseFormat("json"), null, LookUpLead));
        var (forced, _) = GeminiRequestBuilder.Adapt(Request(Lead, ToolChoice.Required, LookUpLead));

        Assert.Null(none);
        Assert.Null(plain.ResponseFormat);
        Assert.Equal(GeminiRequestBuilder.JsonInstruction, plain.Messages[0].Content);
        Assert.Null(forced.ResponseFormat);
        Assert.Equal([LookUpLead], forced.Tools);
    }

    [Fact]
    public void Without_tools_or_with_tools_switched_off_gemini_keeps_its_json_mode()
    {
        var alone = Request(Lead);
        var (off, _) = GeminiRequestBuilder.Adapt(Request(Lead, ToolChoice.None, LookUpLead));

        Assert.Same(alone, GeminiRequestBuilder.Adapt(alone).Request);
        Assert.Null(off.Tools);
        Assert.Equal(Lead, off.ResponseFormat);
    }

    [Fact]
    public void A_call_of_the_answer_tool_comes_back_as_the_answers_json_text()
    {
        var called = new ProviderSuccess("", "m", 1, 1, "STOP")
        {
            ToolCalls = [new ToolCall("c1", AnswerTool.BaseName, Json("""{"answer": {"name": "Ada"}}"""))],
            Finish = FinishReasons.ToolCalls,
        };

        var answer = AnswerTool.Unwrap(called, AnswerTool.BaseName);

        Assert.Equal("""{"name": "Ada"}""", answer.Text);
        Assert.Null(answer.ToolCalls);
        Assert.Equal(FinishReasons.Stop, answer.Finish);
    }

    [Fact]
    public void Beside_calls_of_the_requests_tools_the_answer_tool_call_is_dropped()
    {
        var called = new ProviderSuccess("", "m", 1, 1, "STOP")
        {
            ToolCalls = [new ToolCall("c1", "look_up_lead", Json("{}")), new ToolCall("c2", AnswerTool.BaseName, Json("""{"answer": {}}"""))],
        };

        var answer = AnswerTool.Unwrap(called, AnswerTool.BaseName);

        Assert.Equal("look_up_lead", Assert.Single(answer.ToolCalls!).Name);
    }
}
