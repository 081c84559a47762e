using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Worker.Contracts;
using Worker.IntegrationTests.Audit;
using Worker.IntegrationTests.Infrastructure;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.Structured;

/// <summary>
/// An SDR agent's tool conversation on real parts: the request offers a tool, the model calls it, the backend sends the
/// tool's result back, and the model answers with JSON satisfying a schema. Run through each wire format (Gemini, OpenAI,
/// Anthropic) as the primary, and again with the primary failing after the tool call, so that the fallback, speaking
/// another wire format, continues a conversation another provider started. The simulator answers tool calls and JSON
/// shaped by the request's schemas, and injects the bad outputs.
/// </summary>
[Collection(PipelineCollection.Name)]
public sealed class ToolConversationTests(PipelineFixture fixture) : IDisposable
{
    private readonly PipelineFixture _f = Reset(fixture);

    private static PipelineFixture Reset(PipelineFixture fixture)
    {
        fixture.Sim.Clear();
        return fixture;
    }

    public void Dispose() => _f.Sim.Clear();

    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    private static readonly ToolDefinition LookUpLead = new("look_up_lead", "Finds a lead in the CRM by email.", Json("""
        {"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"], "additionalProperties": false}
        """));

    private static readonly ResponseFormat Opener = new("json_schema", "opener", Json("""
        {"type": "object",
         "properties": {"subject": {"type": "string"}, "body": {"type": "string"}, "score": {"type": "integer"}},
         "required": ["subject", "body", "score"]}
        """), Strict: true);

    /// <summary>Turn 1: the question, with the tool on offer and the JSON format the final answer must take.</summary>
    private static CompletionRequested FirstTurn(string chain) =>
        TestProducer.NewRequest("Write an opener for the lead ada@example.com; look her up first.", chain) with
        {
            Tools = [LookUpLead],
            ResponseFormat = Opener,
        };

    /// <summary>Turn 2: the conversation so far, the model's tool calls, and one tool result per call.</summary>
    private static CompletionRequested SecondTurn(CompletionRequested first, CompletionSucceeded called) =>
        first with
        {
            RequestId = Guid.NewGuid(),
            Messages =
            [
                .. first.Messages,
                new ChatMessage(ChatRoles.Assistant, called.Text, called.ToolCalls),
                .. called.ToolCalls!.Select(c => new ChatMessage(ChatRoles.Tool, """{"name": "Ada Lovelace", "company": "Analytical Engines"}""", ToolCallId: c.Id)),
            ],
        };

    private async Task<(CompletionSucceeded Called, CompletionSucceeded Answered)> ConverseAsync(string chain, Action? beforeSecondTurn = null)
    {
        var first = FirstTurn(chain);
        var called = await _f.Producer.RequestAsync<CompletionSucceeded>(first);
        beforeSecondTurn?.Invoke();
        var answered = await _f.Producer.RequestAsync<CompletionSucceeded>(SecondTurn(first, called));
        return (called, answered);
    }

    private static void AssertCalledTheTool(CompletionSucceeded called, string provider)
    {
        Assert.Equal(provider, called.Provider);
        Assert.Equal(FinishReasons.ToolCalls, called.FinishReason);
        var call = Assert.Single(called.ToolCalls!);
        Assert.Equal("look_up_lead", call.Name);
        Assert.False(string.IsNullOrEmpty(call.Id));
        Assert.Equal(JsonValueKind.String, call.Arguments.GetProperty("email").ValueKind);
        Assert.Null(called.Json);
    }

    private static void AssertAnsweredWithJson(CompletionSucceeded answered, string provider)
    {
        Assert.Equal(provider, answered.Provider);
        Assert.Equal(FinishReasons.Stop, answered.FinishReason);
        Assert.Null(answered.ToolCalls);
        var json = Assert.NotNull(answered.Json);
        Assert.Equal(JsonValueKind.String, json.GetProperty("subject").ValueKind);
        Assert.Equal(JsonValueKind.Number, json.GetProperty("score").ValueKind);
        // The text is the same JSON, for a backend that reads text only.
        Assert.Equal(json.GetProperty("subject").GetString(), JsonDocument.Parse(answered.Text).RootElement.GetProperty("subject").GetString());
    }

    [Theory]
    [InlineData("agent-gemini", "gemini")]
    [InlineData("agent-openai", "openai")]
    [InlineData("agent-anthropic", "anthropic")]
    public async Task A_tool_conversation_runs_on_each_wire_format(string chain, string primary)
    {
        var (called, answered) = await ConverseAsync(chain);

        AssertCalledTheTool(called, primary);
        AssertAnsweredWithJson(answered, primary);
        Assert.False(answered.FallbackUsed);
        Assert.Equal(2, _f.Sim.GetCounters(primary).Total);
    }

    [Theory]
    [InlineData("agent-gemini", "gemini", "openai")]
    [InlineData("agent-openai", "openai", "anthropic")]
    [InlineData("agent-anthropic", "anthropic", "gemini")]
    [InlineData("agent-mistral", "openai", "mistral")]
    public async Task When_the_primary_fails_after_the_tool_call_the_fallback_continues_the_conversation(string chain, string primary, string fallback)
    {
        var (called, answered) = await ConverseAsync(chain, () => _f.Sim.SetProfile(primary, FaultProfile.AlwaysFail("503")));

        AssertCalledTheTool(called, primary);
        AssertAnsweredWithJson(answered, fallback);
        Assert.True(answered.FallbackUsed);
        // The fallback was sent the primary's tool call and its result (its wire's own form, ids mapped where it needs).
        Assert.Equal(1, _f.Sim.GetCounters(fallback).Succeeded);
    }

    [Theory]
    [InlineData("invalid_json")]
    [InlineData("truncated_json")]
    [InlineData("schema_mismatch")]
    public async Task Json_that_is_unusable_is_bad_output_in_the_audit_trail_and_the_fallback_answers(string fault)
    {
        var first = FirstTurn("agent-gemini");
        var called = await _f.Producer.RequestAsync<CompletionSucceeded>(first);
        _f.Sim.SetProfile("gemini", FaultProfile.AlwaysFail(fault));

        var second = SecondTurn(first, called);
        var answered = await _f.Producer.RequestAsync<CompletionSucceeded>(second);

        AssertAnsweredWithJson(answered, "openai");
        var row = await AuditDatabase.FindAsync(_f.Worker.Services.GetRequiredService<NpgsqlDataSource>(), second.RequestId);
        var gemini = row!.Attempts.Where(a => a.Provider == "gemini").ToList();
        // bad_output gets one more call on the same step, then the chain falls back. (Beside tools, Gemini is asked for the
        // answer as a function call, so invalid JSON comes back as Gemini's MALFORMED_FUNCTION_CALL.)
        Assert.Equal(["bad_output", "bad_output"], gemini.Select(a => a.ErrorClass));
        Assert.All(gemini, a => Assert.False(string.IsNullOrEmpty(a.Detail)));
    }

    [Theory]
    [InlineData("bad_tool_call", "which the request does not offer")]
    [InlineData("malformed_tool_call", "")]
    public async Task A_bad_tool_call_is_bad_output_in_the_audit_trail_and_the_fallback_answers(string fault, string detail)
    {
        _f.Sim.SetProfile("openai", FaultProfile.AlwaysFail(fault));
        var first = FirstTurn("agent-openai");

        var called = await _f.Producer.RequestAsync<CompletionSucceeded>(first);

        AssertCalledTheTool(called, "anthropic");
        var row = await AuditDatabase.FindAsync(_f.Worker.Services.GetRequiredService<NpgsqlDataSource>(), first.RequestId);
        var openai = row!.Attempts.Where(a => a.Provider == "openai").ToList();
        Assert.Equal(["bad_output", "bad_output"], openai.Select(a => a.ErrorClass));
        Assert.All(openai, a => Assert.Contains(detail, a.Detail));
    }

    [Fact]
    public async Task Steps_whose_models_lack_a_capability_the_request_needs_are_skipped_without_a_call()
    {
        var request = FirstTurn("agent-local");

        var called = await _f.Producer.RequestAsync<CompletionSucceeded>(request);

        // The local model is configured without tools; Groq's llama-3.3-70b has no json_schema in the built-in table.
        AssertCalledTheTool(called, "openrouter");
        Assert.Equal((0, 0), (_f.Sim.GetCounters("ollama").Total, _f.Sim.GetCounters("groq").Total));
        var row = await AuditDatabase.FindAsync(_f.Worker.Services.GetRequiredService<NpgsqlDataSource>(), request.RequestId);
        Assert.Equal(
            [("ollama", false, "skipped: no tool support"), ("groq", false, "skipped: no json schema support")],
            row!.Attempts.Take(2).Select(a => (a.Provider, a.CallMade, a.Note)));
    }

    [Fact]
    public async Task Groq_serves_a_tool_request_without_a_schema()
    {
        var request = FirstTurn("agent-local") with { ResponseFormat = new ResponseFormat(ResponseFormatTypes.Json) };

        var called = await _f.Producer.RequestAsync<CompletionSucceeded>(request);

        AssertCalledTheTool(called, "groq");
        Assert.Equal(0, _f.Sim.GetCounters("ollama").Total);
    }

    [Fact]
    public async Task A_plain_request_on_a_model_without_tools_is_served_by_it()
    {
        var called = await _f.Producer.RequestAsync<CompletionSucceeded>(TestProducer.NewRequest("Say hello.", "agent-local"));

        Assert.Equal(("ollama", PipelineFixture.NoToolsModel), (called.Provider, called.Model));
        Assert.Equal(FinishReasons.Stop, called.FinishReason);
    }

    [Fact]
    public async Task A_request_naming_an_unknown_tool_choice_is_refused_without_a_call()
    {
        var request = FirstTurn("agent-gemini") with { ToolChoice = ToolChoice.Tool("book_meeting") };

        var failed = await _f.Producer.RequestAsync<CompletionFailed>(request);

        Assert.Equal(FailureReasons.InvalidRequest, failed.Reason);
        Assert.Contains("toolChoice names 'book_meeting', which tools does not offer", failed.Error);
        Assert.Equal(0, _f.Sim.GetCounters().Total);
    }
}
