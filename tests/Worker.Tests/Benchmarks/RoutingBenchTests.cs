using System.Text;
using System.Text.Json;
using MassTransit.Serialization;
using Worker.Benchmarks.Harness;
using Worker.Benchmarks.Reporting;
using Worker.Benchmarks.Scenarios;
using Worker.Contracts;

namespace Worker.Tests.Benchmarks;

/// <summary>The routing scenario's workload and arithmetic (tests/Worker.Benchmarks): the saving it reports rests on them.</summary>
public sealed class RoutingBenchTests
{
    [Fact]
    public void The_classes_add_up_to_the_issue_mix()
    {
        var byTier = RoutingWorkload.Classes.GroupBy(c => c.Tier).ToDictionary(g => g.Key, g => g.Sum(c => c.Percent));

        Assert.Equal(100, RoutingWorkload.Classes.Sum(c => c.Percent));
        Assert.Equal(60, byTier[RoutingWorkload.TrivialOrSimple]);
        Assert.Equal(30, byTier[RoutingWorkload.Moderate]);
        Assert.Equal(10, byTier[RoutingWorkload.Expert]);
    }

    [Fact]
    public void Every_hundred_requests_hold_each_class_exactly_its_share_and_no_class_comes_in_a_burst()
    {
        var first = Enumerable.Range(0, 1000).Select(RoutingWorkload.ClassOf).ToList();

        foreach (var block in first.Chunk(100))
        {
            foreach (var work in RoutingWorkload.Classes)
                Assert.Equal(work.Percent, block.Count(c => c == work));
        }

        // The expert class, the rarest, never comes twice in a row.
        Assert.DoesNotContain(Enumerable.Range(1, 999), i => first[i].Name == "expert" && first[i - 1].Name == "expert");
    }

    [Fact]
    public void Default_and_routed_runs_send_the_same_work_and_differ_only_in_the_hints()
    {
        var plain = RoutingWorkload.Request("default", 7, routed: false);
        var routed = RoutingWorkload.Request("routed", 7, routed: true);
        var work = RoutingWorkload.ClassOf(7);

        Assert.Null(plain.Route);
        Assert.Null(plain.Chain);
        Assert.Equal(new RouteHints(work.Complexity, work.Quality), routed.Route);
        Assert.Equal(plain.Messages, routed.Messages);
        Assert.Equal(work.AnswerTokens, plain.MaxOutputTokens);
        Assert.Equal(work.Name, routed.Metadata!["class"]);
    }

    [Fact]
    public void Prompts_are_a_few_hundred_characters() =>
        Assert.All(RoutingWorkload.Classes, c => Assert.InRange(c.Prompt.Length, 200, 600));

    [Fact]
    public void The_envelope_carries_the_route_hints_and_the_answer_length()
    {
        var request = RoutingWorkload.Request("routed", 0, routed: true);

        using var json = JsonDocument.Parse(Broker.EnvelopeBytes(request));
        var message = json.RootElement.GetProperty("message");

        Assert.Equal(request.Route!.Complexity, message.GetProperty("route").GetProperty("complexity").GetString());
        Assert.Equal(request.Route.Quality, message.GetProperty("route").GetProperty("quality").GetString());
        Assert.Equal(request.MaxOutputTokens, message.GetProperty("maxOutputTokens").GetInt32());
    }

    [Fact]
    public void A_result_cost_is_read_as_MassTransit_writes_it()
    {
        var result = new CompletionSucceeded(Guid.NewGuid(), null, "ok", "gemini", "gemini-2.5-flash", false, 1, 73, 250, null,
            DateTimeOffset.UnixEpoch, CostUsd: 0.0006465);
        var body = "{\"message\":" + JsonSerializer.Serialize(result, SystemTextJsonMessageSerializer.Options) + "}";

        var read = Broker.ReadResult(Encoding.UTF8.GetBytes(body), succeeded: true);

        Assert.Equal(0.00064650m, read.CostUsd);
        Assert.Equal("gemini-2.5-flash", read.Model);
    }

    [Fact]
    public void A_run_counts_every_request_in_its_cost_and_splits_latency_by_tier()
    {
        RoutedRequest[] requests =
        [
            new("trivial/simple", true, 0.001m, 400, "gemini-2.5-flash"),
            new("trivial/simple", true, 0.001m, 600, "gemini-2.5-flash"),
            new("expert", true, 0.010m, 2000, "gemini-2.5-pro"),
            new("expert", false, null, 3000, null),
        ];

        var run = RoutingRun.Of("routed", requests);

        Assert.Equal(75, run.SuccessPercent, 6);
        Assert.Equal(3.0, run.CostPer1000Usd, 6); // 0.012 USD over 4 requests
        Assert.Equal(new TierLatency(2, 500, 590), run.Tiers["trivial/simple"]);
        Assert.Equal(2, run.AnsweredBy["gemini-2.5-flash"]);
        Assert.False(run.AnsweredBy.ContainsKey("expert"));
    }

    [Fact]
    public void The_saving_is_a_share_of_the_baseline_and_negative_when_dearer()
    {
        var baseline = Run(4.0m);

        Assert.Equal(40, RoutingRun.SavingPercent(Run(2.4m), baseline), 6);
        Assert.Equal(-25, RoutingRun.SavingPercent(Run(5.0m), baseline), 6);
    }

    private static RoutingRun Run(decimal costPer1000) =>
        new("r", 1000, 1000, costPer1000, new Dictionary<string, TierLatency>(), new Dictionary<string, int>());
}
