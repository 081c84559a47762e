using System.Net;
using System.Text;
using Microsoft.Extensions.Options;
using Worker.Simulator;
using Worker.Simulator.Faults;

namespace Worker.Tests.Simulator;

public sealed class AdminApiTests
{
    private static StringContent JsonResponse(string json) => new(json, Encoding.UTF8, "application/json");

    [Fact]
    public async Task Put_with_unknown_fault_name_is_400_naming_the_value_and_changes_nothing()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.Http.PutAsync("_sim/targets/gemini/faults", JsonResponse("""{"script":["500","teapot"]}"""));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'teapot'", body, StringComparison.Ordinal);
        Assert.Contains("script[1]", body, StringComparison.Ordinal);
        Assert.Null(sim.State.GetProfile("gemini"));
    }

    [Fact]
    public async Task Tool_and_json_faults_are_settable_by_name_and_counted_for_the_anthropic_wire()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var put = await sim.Http.PutAsync("_sim/targets/anthropic/faults", JsonResponse(
            """{"script":["malformed_tool_call","bad_tool_call","invalid_json","truncated_json","schema_mismatch"]}"""));
        for (var i = 0; i < 5; i++)
            (await sim.AnthropicAsync("anthropic", RunningSimulator.AnthropicBody())).Dispose();
        var calls = await (await sim.Http.GetAsync("_sim/calls/anthropic")).ReadJsonAsync();

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal(5, (int)calls["total"]!);
        Assert.Equal(0, (int)calls["succeeded"]!);
        foreach (var name in (string[])["malformed_tool_call", "bad_tool_call", "invalid_json", "truncated_json", "schema_mismatch"])
            Assert.Equal(1, (int)calls["byFault"]![name]!);
        Assert.All(calls["recent"]!.AsArray(), r => Assert.Equal("anthropic", (string?)r!["format"]));
    }

    [Fact]
    public async Task Put_with_a_misspelt_field_is_400_naming_the_field()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.Http.PutAsync("_sim/targets/gemini/faults", JsonResponse("""{"allways":"503"}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("allways", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Put_sets_the_profile_and_delete_makes_the_target_healthy_again()
    {
        await using var sim = await RunningSimulator.StartAsync();

        // Hand-written profiles may carry comments and bare numbers for fault names.
        using var put = await sim.Http.PutAsync("_sim/targets/openai/faults", JsonResponse("""
            {
              "always": 503, // down
              "retryAfterSeconds": 2
            }
            """));
        using var failing = await sim.OpenAIAsync("openai");
        using var delete = await sim.Http.DeleteAsync("_sim/targets/openai/faults");
        using var healthy = await sim.OpenAIAsync("openai");

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal("503", (string?)(await put.ReadJsonAsync())["profile"]!["always"]);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, failing.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(HttpStatusCode.OK, healthy.StatusCode);
    }

    [Fact]
    public async Task Calls_report_counts_faults_models_and_recent_calls_per_target()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("gemini", FaultProfile.Scripted("429"));
        (await sim.GeminiAsync("gemini")).Dispose();
        (await sim.GeminiAsync("gemini", model: "gemini-2.5-pro")).Dispose();
        (await sim.OpenAIAsync("openai")).Dispose();

        var gemini = await (await sim.Http.GetAsync("_sim/calls/gemini")).ReadJsonAsync();
        var all = await (await sim.Http.GetAsync("_sim/calls")).ReadJsonAsync();
        var targets = await (await sim.Http.GetAsync("_sim/targets")).ReadJsonAsync();

        Assert.Equal(2, (int)gemini["total"]!);
        Assert.Equal(1, (int)gemini["succeeded"]!);
        Assert.Equal(1, (int)gemini["byFault"]!["429"]!);
        Assert.Equal(1, (int)gemini["byModel"]!["gemini-2.5-pro"]!);
        var recent = gemini["recent"]!.AsArray();
        Assert.Equal(["429", "ok"], recent.Select(r => (string?)r!["fault"]));
        Assert.All(recent, r => Assert.Equal("gemini", (string?)r!["format"]));
        Assert.All(recent, r => Assert.NotNull((DateTimeOffset?)r!["receivedAt"]));
        Assert.Equal(3, (int)all["total"]!);
        Assert.Equal(1, (int)all["byTarget"]!["openai"]!["total"]!);
        Assert.Equal(["gemini", "openai"], targets.AsArray().Select(t => (string?)t!["name"]));
    }

    [Fact]
    public async Task Reset_clears_every_profile_and_counter()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("gemini", FaultProfile.AlwaysFail("503"));
        (await sim.GeminiAsync("gemini")).Dispose();

        using var reset = await sim.Http.PostAsync("_sim/reset", null);
        using var after = await sim.GeminiAsync("gemini");

        Assert.Equal(HttpStatusCode.NoContent, reset.StatusCode);
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        Assert.Equal(1, sim.State.GetCounters("gemini").Total);
    }

    [Fact]
    public async Task Profiles_from_configuration_are_in_force_at_start()
    {
        await using var sim = await RunningSimulator.StartAsync(args: ["--Simulator:Targets:gemini:Script:0=429", "--Simulator:Targets:gemini:RetryAfterSeconds=4"]);

        using var first = await sim.GeminiAsync("gemini");
        using var second = await sim.GeminiAsync("gemini");

        Assert.Equal(HttpStatusCode.TooManyRequests, first.StatusCode);
        Assert.Contains("\"retryDelay\":\"4s\"", await first.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
    }

    [Fact]
    public async Task Configure_hook_sets_profiles_at_start()
    {
        await using var sim = await RunningSimulator.StartAsync(o => o.Targets["openai"] = FaultProfile.AlwaysFail("502"));

        using var response = await sim.OpenAIAsync("openai");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
    }

    [Fact]
    public void Bad_fault_name_in_configuration_stops_the_host_naming_the_key()
    {
        var error = Assert.Throws<OptionsValidationException>(() =>
            SimulatorApp.Build(["--urls", "http://127.0.0.1:0", "--Simulator:Targets:gemini:Always=teapot"]));

        Assert.Contains("Simulator:Targets:gemini:Always", error.Message, StringComparison.Ordinal);
        Assert.Contains("'teapot'", error.Message, StringComparison.Ordinal);
    }
}
