using System.Net;
using System.Net.Http.Headers;
using Worker.Simulator;

namespace Worker.IntegrationTests.Ops;

/// <summary>A worker started without OPS_API_KEY: the ops routes are off (404 saying why), never open.</summary>
[Collection(OpsCollection.Name)]
public sealed class OpsDisabledTests
{
    [Fact]
    public async Task Without_OPS_API_KEY_the_ops_routes_are_off_and_health_still_answers()
    {
        var worker = await OpsFixture.StartWorkerAsync(opsKey: "");
        try
        {
            using var client = new HttpClient { BaseAddress = worker.GetBaseAddress() };
            // Any token at all, even an empty-looking one, must not open them.
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "anything-at-all-0123456789");

            foreach (var route in new[] { "/requests", $"/requests/{Guid.NewGuid()}", "/metrics/providers" })
            {
                var problem = await client.GetJsonAsync(route, HttpStatusCode.NotFound);
                Assert.Contains("OPS_API_KEY is not set", (string)problem["detail"]!);
            }

            using var live = await client.GetAsync("/health/live");
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }
        finally
        {
            await worker.StopAsync();
            await worker.DisposeAsync();
        }
    }
}
