using System.Net;
using System.Text.Json.Nodes;

namespace Worker.Tests.Simulator;

/// <summary>Tool calls and JSON answers on the OpenAI wire.</summary>
public sealed class OpenAIToolTests
{
    internal static JsonObject Tool(string name, JsonObject? parameters = null) => new()
    {
        ["type"] = "function",
        ["function"] = new JsonObject { ["name"] = name, ["description"] = "A tool", ["parameters"] = parameters ?? ToolSchemas.Weather() },
    };

    internal static JsonObject Body(string text = "Weather in Paris?") => new()
    {
        ["model"] = "gpt-4o-mini",
        ["messages"] = new JsonArray(new JsonObject { ["role"] = "user", ["content"] = text }),
    };

    internal static JsonObject WithTools(JsonNode? choice = null)
    {
        var body = Body();
        body["tools"] = new JsonArray(Tool("get_weather"), Tool("get_time", new JsonObject { ["type"] = "object" }));
        if (choice is not null)
            body["tool_choice"] = choice;
        return body;
    }

    internal static JsonObject WithJsonSchema()
    {
        var body = Body();
        body["response_format"] = new JsonObject
        {
            ["type"] = "json_schema",
            ["json_schema"] = new JsonObject { ["name"] = "rating", ["schema"] = ToolSchemas.Rating(), ["strict"] = true },
        };
        return body;
    }

    [Fact]
    public async Task Offered_tools_are_answered_with_a_call_of_the_first_one()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.OpenAIAsync("openai", WithTools());
        var choice = (await response.ReadJsonAsync())["choices"]![0]!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("tool_calls", (string?)choice["finish_reason"]);
        Assert.True(choice["message"]!.AsObject().ContainsKey("content"));
        Assert.Null(choice["message"]!["content"]);
        var call = Assert.Single(choice["message"]!["tool_calls"]!.AsArray())!;
        Assert.StartsWith("call_", (string?)call["id"], StringComparison.Ordinal);
        Assert.Equal("function", (string?)call["type"]);
        Assert.Equal("get_weather", (string?)call["function"]!["name"]);
        Assert.Equal(ToolSchemas.WeatherSample, (string?)call["function"]!["arguments"]);
    }

    [Fact]
    public async Task Forced_function_is_the_one_called()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var choice = new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = "get_time" } };

        using var response = await sim.OpenAIAsync("openai", WithTools(choice));
        var call = (await response.ReadJsonAsync())["choices"]![0]!["message"]!["tool_calls"]![0]!;

        Assert.Equal("get_time", (string?)call["function"]!["name"]);
        Assert.Equal("{}", (string?)call["function"]!["arguments"]);
    }

    [Fact]
    public async Task Tool_choice_none_is_answered_with_text()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.OpenAIAsync("openai", WithTools("none"));
        var choice = (await response.ReadJsonAsync())["choices"]![0]!;

        Assert.Equal("stop", (string?)choice["finish_reason"]);
        Assert.Equal("Simulated reply from openai/gpt-4o-mini to: Weather in Paris?", (string?)choice["message"]!["content"]);
        Assert.False(choice["message"]!.AsObject().ContainsKey("tool_calls"));
    }

    [Fact]
    public async Task Tool_result_as_last_message_is_answered_with_text()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var body = WithTools();
        body["messages"]!.AsArray().Add(new JsonObject
        {
            ["role"] = "assistant",
            ["content"] = null,
            ["tool_calls"] = new JsonArray(new JsonObject
            {
                ["id"] = "call_1", ["type"] = "function",
                ["function"] = new JsonObject { ["name"] = "get_weather", ["arguments"] = "{}" },
            }),
        });
        body["messages"]!.AsArray().Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = "call_1", ["content"] = "sunny" });

        using var response = await sim.OpenAIAsync("openai", body);
        var choice = (await response.ReadJsonAsync())["choices"]![0]!;

        Assert.Equal("stop", (string?)choice["finish_reason"]);
        Assert.Equal("Simulated reply from openai/gpt-4o-mini to: Weather in Paris?", (string?)choice["message"]!["content"]);
    }

    [Fact]
    public async Task Json_schema_response_format_is_answered_with_its_sample()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.OpenAIAsync("openai", WithJsonSchema());
        var choice = (await response.ReadJsonAsync())["choices"]![0]!;

        Assert.Equal("stop", (string?)choice["finish_reason"]);
        Assert.Equal(ToolSchemas.RatingSample, (string?)choice["message"]!["content"]);
    }

    [Fact]
    public async Task Json_object_response_format_is_answered_with_a_small_object()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var body = Body("Hi");
        body["response_format"] = new JsonObject { ["type"] = "json_object" };

        using var response = await sim.OpenAIAsync("openai", body);
        var content = (string?)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["content"];

        Assert.Equal("Simulated reply from openai/gpt-4o-mini to: Hi", (string?)ToolSchemas.TryParse(content)!["answer"]);
    }

    [Fact]
    public async Task Tools_win_over_json_until_the_tool_result_comes_back()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var body = WithJsonSchema();
        body["tools"] = new JsonArray(Tool("get_weather"));

        using var response = await sim.OpenAIAsync("openai", body);

        Assert.Equal("tool_calls", (string?)(await response.ReadJsonAsync())["choices"]![0]!["finish_reason"]);
    }

    [Fact]
    public async Task Odd_values_in_tool_and_json_fields_are_ignored_not_a_server_error()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var body = Body("Hi");
        body["tools"] = new JsonArray("odd", new JsonObject { ["type"] = "function" });
        body["tool_choice"] = 5;
        body["response_format"] = new JsonObject { ["type"] = 5 };
        body["messages"]!.AsArray().Insert(0, new JsonObject { ["role"] = 7, ["content"] = "odd" });

        using var response = await sim.OpenAIAsync("openai", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Simulated reply from openai/gpt-4o-mini to: Hi", (string?)(await response.ReadJsonAsync())["choices"]![0]!["message"]!["content"]);
    }
}
