using System.CommandLine;
using Spectre.Console;
using Worker.Contracts;
using Worker.IntegrationTests.Infrastructure;
using Worker.Ops.Cli;
using Worker.Simulator;
using Worker.Simulator.Faults;

namespace Worker.IntegrationTests.DeadLetters;

/// <summary>The ops CLI against a running worker: the same commands an operator types, their output captured.</summary>
[Collection(DeadLetterCollection.Name)]
public sealed class OpsCliTests(DeadLetterFixture fixture) : IDisposable
{
    private readonly DeadLetterFixture _f = fixture;

    private async Task<(int Code, string Output)> CliAsync(OpsClient api, params string[] args)
    {
        var output = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 400;
        var code = await OpsCommands.Build(api, console).Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = output });
        return (code, output.ToString());
    }

    private OpsClient Api(string? key = DeadLetterFixture.Key) => OpsClient.Create(_f.Worker.GetBaseAddress().ToString(), key, "carol");

    [Fact]
    public async Task Lists_shows_and_replays_a_parked_request_following_the_progress_until_it_is_answered()
    {
        _f.Sim.SetProfile("gemini", FaultProfile.AlwaysFail("503"));
        _f.Sim.SetProfile("openai", FaultProfile.AlwaysFail("502"));
        var request = TestProducer.NewRequest("from the cli");
        Assert.True((await _f.Producer.RequestAsync<CompletionFailed>(request)).DeadLettered);
        _f.Sim.Clear();
        using var api = Api();
        var id = request.RequestId.ToString();

        var (code, listed) = await CliAsync(api, "dead-letters", "list", "--since", "10m", "--limit", "500");
        Assert.Equal(0, code);
        Assert.Contains(id, listed);

        (code, var shown) = await CliAsync(api, "dead-letters", "show", id);
        Assert.Equal(0, code);
        Assert.Contains("Message a replay sends", shown);
        Assert.Contains("from the cli", shown);
        Assert.Contains("gave_up", shown);

        (code, var dryRun) = await CliAsync(api, "dead-letters", "replay", "--id", id, "--dry-run");
        Assert.Equal(0, code);
        Assert.Contains("Dry run: 1 parked item(s) would be replayed.", dryRun);

        (code, var replayed) = await CliAsync(api, "dead-letters", "replay", "--id", id);
        Assert.Equal(0, code);
        Assert.Contains("1 item(s) selected", replayed);
        Assert.Contains("succeeded 1, failed 0, parked 0, pending 0", replayed);
        Assert.Contains("carol", replayed);
        Assert.IsType<CompletionSucceeded>((await _f.Producer.WaitForResultsAsync(request.RequestId, 2))[1]);

        (code, var groups) = await CliAsync(api, "dead-letters", "groups");
        Assert.Equal(0, code);
        Assert.Contains("Group", groups);
    }

    [Fact]
    public async Task Says_plainly_what_is_wrong()
    {
        using var noKey = Api(key: null);
        var (code, output) = await CliAsync(noKey, "dead-letters", "groups");
        Assert.Equal((1, true), (code, output.Contains("OPS_API_KEY is not set")));

        using var wrongKey = Api(key: "not-the-key-0123456789");
        (code, output) = await CliAsync(wrongKey, "dead-letters", "groups");
        Assert.Equal((1, true), (code, output.Contains("HTTP 401")));

        using var api = Api();
        (code, output) = await CliAsync(api, "dead-letters", "replay");
        Assert.Equal((1, true), (code, output.Contains("say what to replay")));

        (code, output) = await CliAsync(api, "dead-letters", "replay", "--all", "--chain", "no-such-chain", "--dry-run");
        Assert.Equal((1, true), (code, output.Contains("no-such-chain")));

        (code, output) = await CliAsync(api, "dead-letters", "list", "--since", "yesterday");
        Assert.Equal((1, true), (code, output.Contains("since")));
    }

    public void Dispose() => _f.Sim.Clear();
}
