# The original tutorial's TCP chat client (../shared/seed/), exactly as the seed has it: only the
# line breaks that the seed's text lost are restored, and the __main__ block takes the server's
# address from the command line instead of the tutorial's fixed LAN address (our tests never send
# traffic off loopback). It sends each typed line with sock.send() and no newline.
import socket
import threading

class TcpChatClient:
 def __init__(self):
  self.sock = socket.socket(family=socket.AF_INET, type=socket.SOCK_STREAM)
  self.event = threading.Event()

 def recv(self):  #The client needs to always receive messages broadcast and distributed by the server
  while not self.event.is_set():
   data = self.sock.recv(1024).decode()
   data = data.strip()
   print(data)

 def send(self):  #Send message
  while not self.event.is_set():
   data =input()
   self.sock.send(data.encode())
   if data.strip()=='/quit':  #send/Close itself when quit
    self.stop()

 def start(self, ip, port):
  self.sock.connect((ip, port))
  s = threading.Thread(target=self.send, daemon=False)
  r = threading.Thread(target=self.recv, daemon=False)
  s.start()
  r.start()

 def stop(self):
  self.sock.close()
  self.event.set()

if __name__ =='__main__':
 import sys
 tcp_chat_client =TcpChatClient()
 tcp_chat_client.start(sys.argv[1], int(sys.argv[2]))
