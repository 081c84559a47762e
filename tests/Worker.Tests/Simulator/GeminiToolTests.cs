using System.Net;
using System.Text.Json.Nodes;

namespace Worker.Tests.Simulator;

/// <summary>Function calls and JSON answers on the Gemini wire.</summary>
public sealed class GeminiToolTests
{
    internal static JsonObject Body(string text = "Weather in Paris?") => new()
    {
        ["contents"] = new JsonArray(new JsonObject
        {
            ["role"] = "user",
            ["parts"] = new JsonArray(new JsonObject { ["text"] = text }),
        }),
    };

    internal static JsonObject WithTools(string? mode = null, params string[] allowed)
    {
        var body = Body();
        body["tools"] = new JsonArray(new JsonObject
        {
            ["functionDeclarations"] = new JsonArray(
                new JsonObject { ["name"] = "get_weather", ["description"] = "Forecast", ["parameters"] = ToolSchemas.GeminiWeather() },
                new JsonObject { ["name"] = "get_time", ["description"] = "Clock" }),
        });
        if (mode is not null)
        {
            body["toolConfig"] = new JsonObject
            {
                ["functionCallingConfig"] = new JsonObject { ["mode"] = mode, ["allowedFunctionNames"] = new JsonArray([.. allowed.Select(a => (JsonNode)a)]) },
            };
        }
        return body;
    }

    internal static JsonObject WithJsonSchema(string schemaField = "responseSchema")
    {
        var body = Body();
        body["generationConfig"] = new JsonObject
        {
            ["responseMimeType"] = "application/json",
            [schemaField] = schemaField == "responseSchema" ? ToolSchemas.GeminiWeather() : ToolSchemas.Weather(),
        };
        return body;
    }

    [Fact]
    public async Task Offered_functions_are_answered_with_a_call_of_the_first_one()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.GeminiAsync("gemini", WithTools());
        var candidate = (await response.ReadJsonAsync())["candidates"]![0]!;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("STOP", (string?)candidate["finishReason"]);
        var call = Assert.Single(candidate["content"]!["parts"]!.AsArray())!["functionCall"]!;
        Assert.Equal("get_weather", (string?)call["name"]);
        Assert.Equal(ToolSchemas.WeatherSample, call["args"]!.ToJsonString());
    }

    [Fact]
    public async Task Mode_any_with_allowed_names_calls_the_allowed_function()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.GeminiAsync("gemini", WithTools("ANY", "get_time"));
        var call = (await response.ReadJsonAsync())["candidates"]![0]!["content"]!["parts"]![0]!["functionCall"]!;

        Assert.Equal("get_time", (string?)call["name"]);
        Assert.Equal("{}", call["args"]!.ToJsonString());
    }

    [Fact]
    public async Task Mode_none_is_answered_with_text()
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.GeminiAsync("gemini", WithTools("NONE"));
        var part = (await response.ReadJsonAsync())["candidates"]![0]!["content"]!["parts"]![0]!;

        Assert.Equal("Simulated reply from gemini/gemini-2.5-flash to: Weather in Paris?", (string?)part["text"]);
    }

    [Fact]
    public async Task Function_response_as_last_content_is_answered_with_text_and_counted_under_the_question()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var body = WithTools();
        body["contents"]!.AsArray().Add(new JsonObject
        {
            ["role"] = "model",
            ["parts"] = new JsonArray(new JsonObject { ["functionCall"] = new JsonObject { ["name"] = "get_weather", ["args"] = new JsonObject() } }),
        });
        body["contents"]!.AsArray().Add(new JsonObject
        {
            ["role"] = "user",
            ["parts"] = new JsonArray(new JsonObject
            {
                ["functionResponse"] = new JsonObject { ["name"] = "get_weather", ["response"] = new JsonObject { ["sky"] = "sunny" } },
            }),
        });

        using var response = await sim.GeminiAsync("gemini", body);
        var part = (await response.ReadJsonAsync())["candidates"]![0]!["content"]!["parts"]![0]!;

        Assert.Equal("Simulated reply from gemini/gemini-2.5-flash to: Weather in Paris?", (string?)part["text"]);
        Assert.Equal(1, sim.State.CallsByPrompt("gemini")["Weather in Paris?"].Total);
    }

    [Theory]
    [InlineData("responseSchema")]
    [InlineData("responseJsonSchema")]
    public async Task Json_mime_type_with_a_schema_is_answered_with_its_sample(string schemaField)
    {
        await using var sim = await RunningSimulator.StartAsync();

        using var response = await sim.GeminiAsync("gemini", WithJsonSchema(schemaField));
        var candidate = (await response.ReadJsonAsync())["candidates"]![0]!;

        Assert.Equal("STOP", (string?)candidate["finishReason"]);
        Assert.Equal(ToolSchemas.WeatherSample, (string?)candidate["content"]!["parts"]![0]!["text"]);
    }

    [Fact]
    public async Task Json_mime_type_without_a_schema_is_answered_with_a_small_object()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var body = Body("Hi");
        body["generationConfig"] = new JsonObject { ["responseMimeType"] = "application/json" };

        using var response = await sim.GeminiAsync("gemini", body);
        var text = (string?)(await response.ReadJsonAsync())["candidates"]![0]!["content"]!["parts"]![0]!["text"];

        Assert.Equal("Simulated reply from gemini/gemini-2.5-flash to: Hi", (string?)ToolSchemas.TryParse(text)!["answer"]);
    }

    [Fact]
    public async Task Odd_values_in_tool_and_json_fields_are_ignored_not_a_server_error()
    {
        await using var sim = await RunningSimulator.StartAsync();
        var body = System.Text.Json.Nodes.JsonNode.Parse("""
            {"contents":[{"role":"user","parts":["odd",{"text":"Hi"}]}],
             "tools":["odd",{"functionDeclarations":["odd",{"description":"no name"}]}],
             "generationConfig":{"responseMimeType":5}}
            """)!.AsObject();

        using var response = await sim.GeminiAsync("gemini", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Simulated reply from gemini/gemini-2.5-flash to: Hi", (string?)(await response.ReadJsonAsync())["candidates"]![0]!["content"]!["parts"]![0]!["text"]);
    }
}
