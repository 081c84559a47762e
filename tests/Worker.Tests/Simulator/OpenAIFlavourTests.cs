using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Worker.Simulator.Faults;

namespace Worker.Tests.Simulator;

/// <summary>OpenAI-compatible flavours picked by the target name.</summary>
public sealed partial class OpenAIFlavourTests
{
    private static JsonObject RoundTrip(string callId, string resultId)
    {
        var body = OpenAIToolTests.WithTools();
        body["model"] = "mistral-small-latest";
        body["messages"]!.AsArray().Add(new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = null,
            ["tool_calls"] = new JsonArray(new JsonObject
            {
                ["id"] = callId, ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = "get_weather", ["arguments"] = "{}" },
            }),
        });
        body["messages"]!.AsArray().Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = resultId, ["content"] = "sunny" });
        return body;
    }

    [Theory]
    [InlineData("call_abc123", "call_abc123", "call_abc123")]
    [InlineData("abcDEF123", "abcDEF12", "abcDEF12")]
    public async Task Mistral_rejects_tool_call_ids_that_are_not_nine_alphanumerics(string callId, string resultId, string reported)
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.OpenAIAsync("mistral", RoundTrip(callId, resultId));
        var body = await response.ReadJsonAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("error", (string?)body["object"]);
        Assert.Equal($"Tool call id was {reported} but must be a-z, A-Z, 0-9, with a length of 9.", (string?)body["message"]);
        Assert.Equal("invalid_request_error", (string?)body["type"]);
        Assert.True(body.AsObject().ContainsKey("param") && body.AsObject().ContainsKey("code"));
        Assert.Null(body["param"]);
        Assert.Equal(1, sim.State.GetCounters("mistral").ByFault[Fault.BadRequest]);
    }

    [Fact]
    public async Task Mistral_accepts_its_own_ids_and_the_same_ids_elsewhere_pass_too()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var mistral = await sim.OpenAIAsync("mistral", RoundTrip("abcDEF123", "abcDEF123"));
        using var openai = await sim.OpenAIAsync("openai", RoundTrip("call_abc123", "call_abc123"));

        Assert.Equal(HttpStatusCode.OK, mistral.StatusCode);
        Assert.Equal(HttpStatusCode.OK, openai.StatusCode);
    }

    [Fact]
    public async Task Mistral_mints_nine_alphanumeric_tool_call_ids()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.OpenAIAsync("mistral", OpenAIToolTests.WithTools());
        var id = (string?)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["tool_calls"]![0]!["id"];

        Assert.Matches(MistralId(), id);
    }

    [Fact]
    public async Task Ollama_answers_without_a_key_where_openai_does_not()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var ollama = await sim.OpenAIAsync("ollama", key: null);
        using var groq = await sim.OpenAIAsync("groq", key: null);

        Assert.Equal(HttpStatusCode.OK, ollama.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, groq.StatusCode);
    }

    [Fact]
    public async Task Groq_answers_a_malformed_tool_call_with_400_tool_use_failed_where_openai_answers_200()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("groq", FaultProfile.AlwaysFail("malformed_tool_call"));
        sim.State.SetProfile("openai", FaultProfile.AlwaysFail("malformed_tool_call"));

        using var groq = await sim.OpenAIAsync("groq", OpenAIToolTests.WithTools());
        using var openai = await sim.OpenAIAsync("openai", OpenAIToolTests.WithTools());
        var error = (await groq.ReadJsonAsync())["error"]!;

        Assert.Equal(HttpStatusCode.BadRequest, groq.StatusCode);
        Assert.Equal("invalid_request_error", (string?)error["type"]);
        Assert.Equal("tool_use_failed", (string?)error["code"]);
        Assert.StartsWith("{\"city\"", (string?)error["failed_generation"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, openai.StatusCode);
        Assert.Equal(1, sim.State.GetCounters("groq").ByFault[Fault.MalformedToolCall]);
    }

    [Fact]
    public async Task Groq_answers_a_plain_request_under_malformed_tool_call_as_ok()
    {
        await using var sim = await RunningSimulator.StartAsync();
        sim.State.SetProfile("groq", FaultProfile.AlwaysFail("malformed_tool_call"));

        using var response = await sim.OpenAIAsync("groq");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [GeneratedRegex("^[a-zA-Z0-9]{9}$")]
    private static partial Regex MistralId();
}
