package org.chatloop.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.chatloop.loop.EventLoop;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Rooms past the announce limit: summaries instead of one notice per join, bounded lists. */
class ChatHubLargeRoomTest {
    private static final long SECOND = TimeUnit.SECONDS.toNanos(1);

    private long now;
    private final EventLoop loop = new EventLoop(() -> now);
    private ChatHub hub = new ChatHub(loop, HubOptions.defaults().withAnnounceLimit(3)
            .withSummaryInterval(Duration.ofSeconds(3)));
    private int port = 50000;

    @AfterEach
    void closeLoop() {
        loop.close();
    }

    private RecordingOutput connect() {
        RecordingOutput out = new RecordingOutput();
        out.client = hub.connect("10.0.0.1:" + port++, out);
        return out;
    }

    private void advance(long nanos) {
        now += nanos;
        loop.runOnce(0);
    }

    @Test
    void shouldAnnounceJoinsOneByOneUpToTheLimit() {
        RecordingOutput first = connect();
        connect();
        connect();

        assertEquals(List.of("* welcome 10.0.0.1:50000 (room lobby; /nick NAME to rename, "
                + "/help for commands)", "* 10.0.0.1:50001 joined lobby",
                "* 10.0.0.1:50002 joined lobby"), first.texts());
    }

    @Test
    void shouldSummariseJoinsAndLeavesPastTheLimitOncePerInterval() {
        RecordingOutput first = connect();
        connect();
        connect();
        first.clear();
        List<RecordingOutput> late = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            late.add(connect()); // the 4th..8th member: past the limit of 3
        }
        hub.disconnect(late.get(0).client, LeaveReason.DISCONNECTED);
        hub.disconnect(late.get(1).client, LeaveReason.QUIT);

        assertEquals(List.of(), first.texts(), "nothing announced one by one");
        advance(2 * SECOND);
        assertEquals(List.of(), first.texts(), "not before the interval");
        advance(SECOND);
        assertEquals(List.of("* 5 joined, 2 left lobby (6 here)"), first.texts());
        assertEquals("* 5 joined, 2 left lobby (6 here)", late.get(4).last(),
                "newcomers get the summary too");

        first.clear();
        advance(10 * SECOND);
        assertEquals(List.of(), first.texts(), "nothing when nothing changed");
    }

    @Test
    void shouldAnnounceLeavesOneByOneAgainOnceTheRoomIsBackAtTheLimit() {
        List<RecordingOutput> members = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            members.add(connect());
        }
        advance(3 * SECOND);
        members.get(0).clear();

        hub.disconnect(members.get(3).client, LeaveReason.DISCONNECTED); // 4 -> 3: counted
        hub.disconnect(members.get(2).client, LeaveReason.DISCONNECTED); // 3 -> 2: announced

        assertEquals(List.of("* 10.0.0.1:50002 left (disconnected)"), members.get(0).texts());
        advance(3 * SECOND);
        assertEquals("* 1 left lobby (2 here)", members.get(0).last());
    }

    @Test
    void shouldTellAJoinerAndARenamerAboutThemselvesInALargeRoom() {
        List<RecordingOutput> members = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            members.add(connect());
        }
        RecordingOutput mover = members.get(4);
        for (RecordingOutput m : members) {
            hub.onLine(m.client, "/join big");
        }
        advance(3 * SECOND);
        for (RecordingOutput m : members) {
            m.clear();
        }

        hub.onLine(mover.client, "/nick zed");

        assertEquals(List.of("* 10.0.0.1:50004 is now known as zed"), mover.texts());
        assertEquals(List.of(), members.get(0).texts(), "renames are not broadcast");
        RecordingOutput newcomer = connect();
        hub.onLine(newcomer.client, "/join big");
        assertEquals("* 10.0.0.1:50005 joined big", newcomer.last());
        assertEquals(List.of(), members.get(0).texts());
    }

    @Test
    void shouldFormatLargeCountsWithGroupingAndOmitAnEmptyPart() {
        hub = new ChatHub(loop, HubOptions.defaults().withAnnounceLimit(0));
        RecordingOutput first = connect();
        for (int i = 0; i < 1_202; i++) {
            connect();
        }
        advance(3 * SECOND);

        assertEquals("* 1,203 joined lobby (1,203 here)", first.last());
    }

    @Test
    void shouldCancelTheSummaryOfARoomThatEmptied() {
        List<RecordingOutput> members = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            members.add(connect());
        }
        for (RecordingOutput m : members) {
            hub.onLine(m.client, "/join big");
        }
        for (RecordingOutput m : members) {
            hub.disconnect(m.client, LeaveReason.DISCONNECTED);
        }
        RecordingOutput later = connect();
        hub.onLine(later.client, "/join big");
        later.clear();

        advance(10 * SECOND);

        assertEquals(List.of(), later.texts(), "the old room's counts died with it");
    }

    @Test
    void shouldListAtMostTheMaximumNamesInWhoWithTheTotal() {
        hub = new ChatHub(loop, HubOptions.defaults());
        RecordingOutput asker = connect();
        hub.onLine(asker.client, "/nick aaa");
        for (int i = 0; i < 250; i++) {
            RecordingOutput o = connect();
            hub.onLine(o.client, String.format("/nick n%03d", i));
        }

        hub.onLine(asker.client, "/who");

        String who = asker.last();
        assertTrue(who.startsWith("* in lobby (251): aaa, n000, n001, "), who);
        assertTrue(who.endsWith(", n098, ... and 151 more"), who);
        assertEquals(100, who.substring(who.indexOf(": ") + 2, who.indexOf(", ...")).split(", ")
                .length);
    }

    @Test
    void shouldNeverWriteAReplyLongerThanTheBound() {
        hub = new ChatHub(loop, HubOptions.defaults().withMaxReplyBytes(300));
        RecordingOutput asker = connect();
        for (int i = 0; i < 60; i++) {
            RecordingOutput o = connect();
            hub.onLine(o.client, "/nick " + "x".repeat(28) + String.format("%04d", i));
            if (i % 2 == 0) {
                hub.onLine(o.client, "/join " + "r".repeat(28) + String.format("%04d", i));
            }
        }

        hub.onLine(asker.client, "/who");
        Frame who = asker.frames.get(asker.frames.size() - 1);
        hub.onLine(asker.client, "/rooms");
        Frame rooms = asker.frames.get(asker.frames.size() - 1);

        assertTrue(who.length() - 1 <= 300, who.text());
        assertTrue(rooms.length() - 1 <= 300, rooms.text());
        assertTrue(who.text().startsWith("* in lobby (31): 10.0.0.1:50000, xxxx"), who.text());
        int names = who.text().split(", ").length - 1; // the last part is "... and N more"
        assertTrue(who.text().endsWith(", ... and " + (31 - names) + " more"), who.text());
        assertTrue(rooms.text().startsWith("* rooms: lobby (31), rrrr"), rooms.text());
        int listed = rooms.text().split("\\), ").length - 1;
        assertTrue(rooms.text().endsWith(", ... and " + (31 - listed) + " more"), rooms.text());
    }

    @Test
    void shouldListTheLargestRoomsWhenThereAreTooMany() {
        hub = new ChatHub(loop, HubOptions.defaults().withMaxListed(2));
        RecordingOutput asker = connect();
        for (int i = 0; i < 3; i++) {
            hub.onLine(connect().client, "/join big");
        }
        hub.onLine(connect().client, "/join small");
        hub.onLine(connect().client, "/join tiny");
        hub.onLine(connect().client, "/join small");

        hub.onLine(asker.client, "/rooms");

        assertEquals("* rooms: big (3), small (2), ... and 2 more", asker.last());
    }

    @Test
    void shouldAnswerWhoInARoomOf50000WithABoundedLine() {
        hub = new ChatHub(loop, HubOptions.defaults());
        List<RecordingOutput> all = new ArrayList<>();
        for (int i = 0; i < 50_000; i++) {
            all.add(connect());
        }
        RecordingOutput asker = all.get(49_999);

        hub.onLine(asker.client, "/who");

        String who = asker.last();
        assertTrue(who.startsWith("* in lobby (50000): 10.0.0.1:50000, 10.0.0.1:50001, "), who);
        assertTrue(who.endsWith(" more"), who);
        assertTrue(who.getBytes(StandardCharsets.UTF_8).length + 1 <= 4096);
    }
}
