using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Worker.Chain;
using Worker.Contracts;
using Worker.Providers;
using Worker.Structured;
using Worker.Tests.Fakes;

namespace Worker.Tests.Chain;

/// <summary>Tool calls and JSON through the chain: output checks fall back, capability skips cost no call.</summary>
public class StructuredChainTests
{
    private readonly DrivenTimeProvider _time = new();

    private static ChainStep Step(int index, string provider) =>
        new(index, provider, provider + "-model", 2, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30),
            JitterRatio: 0.2, MaxRetryAfter: TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(20));

    private static readonly ChainStep[] TwoSteps = [Step(0, "gemini"), Step(1, "openai")];

    private static readonly ToolDefinition LookUpLead = new("look_up_lead", null, JsonDocument.Parse("""
        {"type": "object", "properties": {"email": {"type": "string"}}, "required": ["email"]}
        """).RootElement.Clone());

    private static CompletionRequested ToolRequest(int? maxOutput = null) =>
        new(Guid.NewGuid(), null, [new ChatMessage("user", "Who is ada@example.com?")], MaxOutputTokens: maxOutput, Tools: [LookUpLead]);

    private static Func<CancellationToken, Task<ProviderResult>> Calls(string name, string arguments) =>
        _ => Task.FromResult<ProviderResult>(new ProviderSuccess("", "model", 10, 5, "STOP")
        {
            ToolCalls = [new ToolCall("call_1", name, JsonDocument.Parse(arguments).RootElement.Clone())],
            Finish = FinishReasons.ToolCalls,
        });

    private Task<ChainOutcome> Run(CompletionRequested request, CapabilitiesOptions? capabilities, params ICompletionProvider[] providers)
    {
        var runner = new ChainRunner(new FakeRegistry(providers), Guards.Breakers(_time), Guards.Budgets(_time), Guards.ChainRun(), _time,
            NullLogger<ChainRunner>.Instance, new FixedRandom(0.5), capabilities: new CapabilityTable(Options.Create(capabilities ?? [])));
        return _time.Drive(Task.Run(() => runner.RunAsync(request, TwoSteps, CancellationToken.None)));
    }

    [Fact]
    public async Task A_bad_tool_call_gets_one_more_call_on_the_step_then_the_fallback_continues()
    {
        var gemini = new ScriptedProvider("gemini", Calls("unknown_tool", "{}"));
        var openai = new ScriptedProvider("openai", Calls("look_up_lead", """{"email": "ada@example.com"}"""));

        var outcome = await Run(ToolRequest(), null, gemini, openai);

        Assert.True(outcome.Succeeded);
        Assert.Equal("openai", outcome.AnsweredBy!.Provider);
        Assert.Equal("look_up_lead", Assert.Single(outcome.Answer!.ToolCalls!).Name);
        Assert.Equal(2, gemini.Calls);
        Assert.Equal([ErrorClass.BadOutput, ErrorClass.BadOutput, null], outcome.Attempts.Select(a => a.ErrorClass));
        Assert.Contains("'unknown_tool', which the request does not offer", outcome.Attempts[0].Detail);
        // The rejected answers were billed: their tokens stay on the record.
        Assert.Equal(10, outcome.Attempts[0].InputTokens);
    }

    [Fact]
    public async Task A_step_whose_model_cannot_call_tools_is_skipped_without_a_call()
    {
        var gemini = new ScriptedProvider("gemini", Calls("look_up_lead", """{"email": "a@b.c"}"""));
        var openai = new ScriptedProvider("openai", Calls("look_up_lead", """{"email": "a@b.c"}"""));

        var outcome = await Run(ToolRequest(), new CapabilitiesOptions { ["gemini-model"] = new CapabilityOptions { Tools = false } }, gemini, openai);

        Assert.True(outcome.Succeeded);
        Assert.Equal(0, gemini.Calls);
        Assert.Equal(CapabilityTable.NoToolSupport, outcome.Attempts[0].Note);
        Assert.False(outcome.Attempts[0].CallMade);
        Assert.Equal("openai", outcome.AnsweredBy!.Provider);
    }

    [Fact]
    public async Task A_request_no_step_can_serve_fails_as_invalid_without_any_call()
    {
        var gemini = new ScriptedProvider("gemini", ScriptedProvider.Ok());
        var openai = new ScriptedProvider("openai", ScriptedProvider.Ok());
        var none = new CapabilitiesOptions
        {
            ["gemini-model"] = new CapabilityOptions { Tools = false },
            ["openai-model"] = new CapabilityOptions { ContextWindow = 10 },
        };

        var outcome = await Run(ToolRequest() with { Messages = [new ChatMessage("user", new string('x', 400))] }, none, gemini, openai);

        Assert.Equal(FailureReasons.InvalidRequest, outcome.FailureReason);
        Assert.Equal(0, gemini.Calls + openai.Calls);
        Assert.Contains("No step of the chain can serve this request: gemini/gemini-model no tool support; openai/openai-model context window", outcome.Error);
    }

    [Fact]
    public async Task A_provider_that_cannot_take_the_request_is_skipped_with_its_reason()
    {
        var gemini = new Refusing("gemini", "the schema uses 'oneOf', which Gemini's schema subset lacks");
        var openai = new ScriptedProvider("openai", Calls("look_up_lead", """{"email": "a@b.c"}"""));

        var outcome = await Run(ToolRequest(), null, gemini, openai);

        Assert.True(outcome.Succeeded);
        Assert.Equal(0, gemini.Calls);
        Assert.Equal("skipped: the schema uses 'oneOf', which Gemini's schema subset lacks", outcome.Attempts[0].Note);
    }

    [Fact]
    public async Task Each_step_gets_maxOutputTokens_no_higher_than_its_model_writes()
    {
        var gemini = new ScriptedProvider("gemini", ScriptedProvider.Fail(ErrorClass.Auth, 401));
        var openai = new ScriptedProvider("openai", Calls("look_up_lead", """{"email": "a@b.c"}"""));

        await Run(ToolRequest(maxOutput: 9_000), new CapabilitiesOptions { ["gemini-model"] = new CapabilityOptions { MaxOutputTokens = 100 } }, gemini, openai);

        Assert.Equal(100, Assert.Single(gemini.Requests).MaxOutputTokens);
        Assert.Equal(9_000, Assert.Single(openai.Requests).MaxOutputTokens);
        Assert.Equal([LookUpLead], openai.Requests[0].Tools);
    }

    /// <summary>A provider that refuses every request up front, as Gemini does a schema its dialect cannot express.</summary>
    private sealed class Refusing(string name, string reason) : ICompletionProvider
    {
        public int Calls { get; private set; }

        public string Name => name;

        public Task<ProviderResult> CompleteAsync(ProviderRequest request, CancellationToken cancellationToken)
        {
            Calls++;
            return Task.FromResult<ProviderResult>(new ProviderFailure(ErrorClass.InvalidRequest, reason));
        }

        public string? CannotServe(ProviderRequest request) => reason;
    }
}
