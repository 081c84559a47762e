using Microsoft.Extensions.Logging.Abstractions;
using Worker.Contracts;
using Worker.Providers;
using Worker.Providers.OpenAI;
using Worker.Simulator;
using Worker.Simulator.Faults;
using Worker.Tests.Simulator;

namespace Worker.Tests.Providers;

/// <summary>The OpenAI provider reads the simulator's rate-limit headers over real HTTP, on answers and on 429s alike.</summary>
public class OpenAIQuotaTests
{
    private static readonly ProviderRequest Request = new("gpt-4o-mini", [new ChatMessage("user", "Hello there simulator")], MaxOutputTokens: 100, Temperature: null);

    private static OpenAIProvider Provider(RunningSimulator sim) =>
        new("openai",
            new ProviderOptions { Kind = ProviderKind.OpenAI, BaseUrl = new Uri(sim.App.GetBaseAddress(), "openai/v1"), ApiKey = "sk-test", Timeout = TimeSpan.FromSeconds(10) },
            new HttpClient(),
            TimeProvider.System,
            NullLogger.Instance);

    [Fact]
    public async Task Every_answer_carries_the_remaining_quota_until_the_limit_answers_429()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("openai", new FaultProfile { RequestsPerMinute = 2, TokensPerMinute = 1000 });
        var provider = Provider(sim);

        var first = await provider.CompleteAsync(Request, CancellationToken.None);
        var second = await provider.CompleteAsync(Request, CancellationToken.None);
        var third = await provider.CompleteAsync(Request, CancellationToken.None);

        Assert.IsType<ProviderSuccess>(first);
        Assert.Equal(new QuotaWindow(1, 2, first.Quota!.Requests!.Value.ResetAt), first.Quota.Requests);
        Assert.Equal((897L, 1000L), (first.Quota.Tokens!.Value.Remaining, first.Quota.Tokens.Value.Limit!.Value)); // 3 prompt words + 100 max tokens
        var resetIn = first.Quota.Requests.Value.ResetAt!.Value - first.Quota.At;
        Assert.InRange(resetIn, TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(61));

        Assert.Equal(0, second.Quota!.Requests!.Value.Remaining);
        Assert.Equal(0, second.Quota.Requests.Value.Fraction);

        var refused = Assert.IsType<ProviderFailure>(third);
        Assert.Equal(ErrorClass.RateLimited, refused.Class);
        Assert.Equal(0, refused.Quota!.Requests!.Value.Remaining);
        Assert.InRange(refused.RetryAfter!.Value, TimeSpan.FromSeconds(50), TimeSpan.FromSeconds(61));
    }

    [Fact]
    public async Task Without_limits_there_are_no_headers_and_no_reading()
    {
        await using var sim = await RunningSimulator.StartAsync();

        var result = await Provider(sim).CompleteAsync(Request, CancellationToken.None);

        Assert.IsType<ProviderSuccess>(result);
        Assert.Null(result.Quota);
    }
}
