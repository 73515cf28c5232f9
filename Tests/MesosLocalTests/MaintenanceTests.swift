import Foundation
import Mesos
import MesosCodecs
import MesosHTTP
import MesosLocal
import NIOCore
import Testing

/// Maintenance schedules and inverse offers, observed over HTTP as a scheduler and an operator see them.
@Suite("Local master: maintenance and inverse offers", .timeLimit(.minutes(2)))
struct MaintenanceTests {
    static func inverseOffers(_ scheduler: RawScheduler) async throws -> [InverseOffer] {
        try await scheduler.next(where: { $0.type == .inverseOffers }).inverseOffers.inverseOffers
    }

    /// Waits (at most 5 s) for a RESCIND of each offer in `offers` not in `seen` already; fails naming those that
    /// never come. Other events meanwhile are skipped.
    static func awaitRescinds(of offers: Set<OfferID>, seen: Set<OfferID>, _ scheduler: RawScheduler) async throws {
        var missing = offers.subtracting(seen)
        let deadline = ContinuousClock.now + .seconds(5)
        while !missing.isEmpty {
            let left = deadline - .now
            guard left > .zero else { break }
            guard let event = try? await scheduler.next(where: { $0.type == .rescind }, timeout: left) else { break }
            missing.remove(event.rescind.offerID)
        }
        #expect(missing.isEmpty, "offers never rescinded: \(missing.map(\.value).sorted())")
    }

    @Test(
        "scheduled maintenance: an inverse offer with the unavailability to a framework running a task there; DECLINE recorded with its filter, ACCEPT recorded"
    )
    func inverseOfferCycle() async throws {
        try await LocalCluster.with { cluster in
            let scheduler = try await RawScheduler.subscribe(cluster.url, RawScheduler.frameworkInfo(failoverTimeout: 60))
            let offer = try #require(try await ClusterTests.offers(scheduler).first)
            try await ClusterTests.accept(scheduler, [offer.id], [ClusterTests.task("busy", on: offer, command: "sleep 30")])
            let agent = cluster.agents[0]
            let start = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 3600).rounded())
            try cluster.master.scheduleMaintenance(for: agent.agentInfo.id, start: start, duration: .seconds(1800))

            // Whether the rest of the agent was offered again before the schedule or only after it depends on the
            // allocator's timing. Offers made before it lack the unavailability and are rescinded by it, so their
            // RESCIND comes before anything of the allocation round after the schedule; the offers of that round
            // carry the unavailability, and the inverse offer comes with them (in whatever order).
            var inverseOffers: [InverseOffer] = []
            var drained: [Offer] = []
            var stale: Set<OfferID> = []
            var rescinded: Set<OfferID> = []
            while inverseOffers.isEmpty || drained.isEmpty {
                let event = try await scheduler.next(where: { [.offers, .inverseOffers, .rescind].contains($0.type) })
                inverseOffers += event.inverseOffers.inverseOffers
                for offer in event.offers.offers {
                    if offer.hasUnavailability { drained.append(offer) } else { stale.insert(offer.id) }
                }
                if event.type == .rescind { rescinded.insert(event.rescind.offerID) }
            }
            // Every offer without the unavailability was made before the schedule and is rescinded by it.
            try await Self.awaitRescinds(of: stale, seen: rescinded, scheduler)
            let inverse = try #require(inverseOffers.first)
            #expect(inverse.agentID == agent.agentInfo.id)
            #expect(inverse.frameworkID == scheduler.frameworkID)
            #expect(inverse.unavailability.start.nanoseconds == Int64(start.timeIntervalSince1970) * 1_000_000_000)
            #expect(inverse.unavailability.duration.nanoseconds == 1800 * 1_000_000_000)
            #expect(inverse.url.address.port == Int32(URL(string: agent.endpoint)?.port ?? -1))
            #expect(inverse.url.path == "/slave(1)")
            #expect(inverse.resources.isEmpty)
            #expect(cluster.master.outstandingInverseOffers.map(\.id) == [inverse.id])

            // Regular offers of the draining agent carry its unavailability.
            #expect(drained.allSatisfy { $0.unavailability == inverse.unavailability })

            var decline = SchedulerCall()
            decline.type = .declineInverseOffers
            decline.declineInverseOffers.inverseOfferIds = [inverse.id]
            decline.declineInverseOffers.filters.refuseSeconds = 1
            // The master records the answer before it answers 202.
            #expect(try await scheduler.call(decline).status == 202)
            let status = try #require(cluster.master.maintenanceStatus.first)
            #expect(status.machine.hostname == agent.agentInfo.hostname)
            #expect(status.statuses.map(\.status) == [.decline])
            #expect(status.statuses.first?.frameworkID == scheduler.frameworkID)
            #expect(cluster.master.outstandingInverseOffers.isEmpty)

            // Once the filter expires the framework is asked again; this time it accepts.
            let second = try #require(try await Self.inverseOffers(scheduler).first)
            #expect(second.id != inverse.id)
            var accept = SchedulerCall()
            accept.type = .acceptInverseOffers
            accept.acceptInverseOffers.inverseOfferIds = [second.id]
            accept.acceptInverseOffers.filters.refuseSeconds = 3600
            #expect(try await scheduler.call(accept).status == 202)
            #expect(cluster.master.maintenanceStatus.first?.statuses.map(\.status) == [.accept])

            // Over HTTP, the operator's view in the real endpoints' shapes.
            let client = HTTPClient()
            let schedule = try await client.execute(HTTPRequest(method: "GET", url: cluster.url + "/master/maintenance/schedule"))
            #expect(schedule.status == 200)
            let scheduleJSON = try JSONSerialization.jsonObject(with: Data(schedule.body.readableBytesView)) as? [String: Any]
            let window = (scheduleJSON?["windows"] as? [[String: Any]])?.first
            #expect((window?["machine_ids"] as? [[String: Any]])?.first?["hostname"] as? String == agent.agentInfo.hostname)
            let unavailability = window?["unavailability"] as? [String: Any]
            #expect((unavailability?["start"] as? [String: Any])?["nanoseconds"] as? Int64 == inverse.unavailability.start.nanoseconds)
            let statusResponse = try await client.execute(HTTPRequest(method: "GET", url: cluster.url + "/master/maintenance/status"))
            let statusJSON = try JSONSerialization.jsonObject(with: Data(statusResponse.body.readableBytesView)) as? [String: Any]
            let draining = (statusJSON?["draining_machines"] as? [[String: Any]])?.first
            let answers = draining?["statuses"] as? [[String: Any]]
            #expect(answers?.first?["status"] as? String == "ACCEPT")
            #expect((answers?.first?["framework_id"] as? [String: Any])?["value"] as? String == scheduler.frameworkID.value)

            // Removing the machine from the schedule ends the maintenance: no more inverse offers or unavailability.
            try cluster.master.scheduleMaintenance([])
            #expect(cluster.master.maintenanceStatus.isEmpty)
            // Offers still carrying the unavailability were made before the change and are rescinded by it, before
            // the next round offers the agent again, without it.
            var before: Set<OfferID> = []
            var gone: Set<OfferID> = []
            var plain: [Offer] = []
            while plain.isEmpty {
                let event = try await scheduler.next(where: { [.offers, .inverseOffers, .rescind].contains($0.type) })
                if event.type == .rescind { gone.insert(event.rescind.offerID) }
                #expect(event.inverseOffers.inverseOffers.isEmpty)
                let offers = event.offers.offers
                if offers.contains(where: { !$0.hasUnavailability }) {
                    plain = offers
                } else {
                    before.formUnion(offers.map(\.id))
                }
            }
            #expect(plain.allSatisfy { !$0.hasUnavailability })
            try await Self.awaitRescinds(of: before.union(drained.map(\.id)), seen: gone, scheduler)
        }
    }

    @Test("POST /master/maintenance/schedule sets the schedule; an invalid one gets 400 with the master's reason")
    func scheduleOverHTTP() async throws {
        try await LocalCluster.with { cluster in
            let client = HTTPClient()
            let body = #"{"windows":[{"machine_ids":[{"hostname":"127.0.0.1","ip":"127.0.0.1"}],"unavailability":{"start":{"nanoseconds":2000000000000000000}}}]}"#
            let posted = try await client.execute(
                HTTPRequest(method: "POST", url: cluster.url + "/master/maintenance/schedule", headers: [("Content-Type", "application/json")], body: Array(body.utf8))
            )
            #expect(posted.status == 200)
            #expect(cluster.master.maintenanceSchedule.first?.startNanoseconds == 2_000_000_000_000_000_000)
            #expect(cluster.master.maintenanceSchedule.first?.durationNanoseconds == nil)
            let invalid = #"{"windows":[{"machine_ids":[],"unavailability":{"start":{"nanoseconds":0}}}]}"#
            let refused = try await client.execute(
                HTTPRequest(method: "POST", url: cluster.url + "/master/maintenance/schedule", headers: [("Content-Type", "application/json")], body: Array(invalid.utf8))
            )
            #expect(refused.status == 400)
            #expect(String(buffer: refused.body) == "List of machines in the maintenance window is empty")
        }
    }
}
